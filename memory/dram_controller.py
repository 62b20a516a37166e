"""The command-level DRAM model inside the TLM: a SimPy process per channel.

``dram.model = "controller"``: each channel is the open-page controller of
``memory/controller.py`` (bounded read queue and write buffer, per-bank command
queues, first-ready open-row scheduling, write drain, every command timing),
run as a SimPy process that wakes at its next scheduling decision and serves
all the requests due by then. A transaction is cut into the part's bursts and
decoded with a field address map (``dram.address_map``, by default
``ACCELERATOR_ADDRESS_MAP``); its bursts
enter their channels' queues in order, at most 8 per memory clock, and when a
queue is full the issuing DMA waits — back-pressure, which the engine's stall
breakdown shows as time waiting on DRAM. Reads complete when their last burst's
data has left the bus; writes are posted (complete one memory clock after their
last burst is accepted).

Time: the controllers count memory clocks (the part's tCK); SimPy time is
accelerator cycles. A memory clock maps to the accelerator cycle it falls in,
completions are rounded up to the next accelerator cycle.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from memory.controller import ChannelController
from memory.dram_records import AccessRecord
from memory.field_map import FieldMap
from memory.payload import Transaction

if TYPE_CHECKING:
    from memory.dram import Dram

MAX_ISSUE_PER_CLOCK = 8
# The accelerator's default field order for this model: the channel right above the
# column, so consecutive rows go to consecutive channels. Chosen by measurement on the
# reference workloads (docs/dram.md, benchmarks/dram_interleave.py).
ACCELERATOR_ADDRESS_MAP = "rorabgbachco"


class _Pending:
    """One transaction in flight: its completion event and what it has seen."""

    __slots__ = ("event", "arrival", "left", "done", "start", "hits", "misses", "conflicts",
                 "channel", "channels")

    def __init__(self, event: simpy.Event, arrival: int, bursts: int, channels: int) -> None:
        self.event, self.arrival, self.left, self.channels = event, arrival, bursts, channels
        self.done = self.start = -1
        self.hits = self.misses = self.conflicts = 0
        self.channel = -1


class ControllerModel:
    """Per-channel controller processes behind the Dram's ``submit`` interface."""

    def __init__(self, dram: "Dram") -> None:
        preset, part = dram.preset, dram.preset.commands
        if part is None:
            raise ValueError(f"{dram.name}: preset {preset.name!r} has no command-level timing "
                             "(dram.model 'controller' needs ddr4-3200, hbm2, lpddr4-2400, hbm2e "
                             "or hbm3)")
        self.env, self.part = dram.env, part
        self.amap = FieldMap(dram.address_order or ACCELERATOR_ADDRESS_MAP, preset.channels, part.ranks,
                             part.bank_groups, part.banks_per_group,
                             part.row_bytes // part.burst_bytes, part.burst_bytes, dram.xor_bank)
        self.cycles_per_clock = part.tck_ns * dram.clock_mhz / 1e3
        self._counters, self._windows = dram._counters, dram._windows
        self.ctrls = [ChannelController(part) for _ in range(preset.channels)]
        self.pending: dict[int, tuple[_Pending, int]] = {}   # burst id -> (txn, channel)
        self.done: dict[int, int] = {}
        self.next_id = 0
        self.issued_clock, self.issued_count = -1, 0
        self.room_wait_cycles = 0       # DMA time spent waiting for queue room (back-pressure)
        self.wake = [self.env.event() for _ in self.ctrls]
        self.room = self.env.event()
        for ch, ctrl in enumerate(self.ctrls):
            ctrl.observer = self._observer(ch)
            self.env.process(self._channel(ch))

    # -- clocks ---------------------------------------------------------------------

    def _clock(self) -> int:
        """The memory clock of the current accelerator cycle."""
        return int(self.env.now / self.cycles_per_clock)

    def _cycle(self, clock: int) -> int:
        return math.ceil(clock * self.cycles_per_clock - 1e-9)

    # -- the DMA side -----------------------------------------------------------------

    def submit(self, txn: Transaction) -> simpy.Event:
        event = self.env.event()
        self.env.process(self._feed(txn, event))
        return event

    def _feed(self, txn: Transaction, event: simpy.Event):
        bb = self.part.burst_bytes
        first, last = txn.address // bb, (txn.address + txn.length_bytes - 1) // bb
        decoded = self.amap.decode([b * bb for b in range(first, last + 1)])
        chans, banks, rows = (a.tolist() for a in decoded)
        txn_state = _Pending(event, self.env.now, len(chans), len(set(chans)))
        write = not txn.is_read
        for ch, bank, row in zip(chans, banks, rows):
            ctrl = self.ctrls[ch]
            while True:
                clock = self._clock()
                ctrl.advance(clock, self.done)
                if self.issued_clock == clock and self.issued_count >= MAX_ISSUE_PER_CLOCK:
                    yield self.env.timeout(max(1, self._cycle(clock + 1) - self.env.now))
                elif ctrl.accepts(write):
                    break
                else:                       # queue full: the DMA waits (back-pressure)
                    blocked = self.env.now
                    yield self.room
                    self.room_wait_cycles += self.env.now - blocked
            self.issued_count = self.issued_count + 1 if self.issued_clock == clock else 1
            self.issued_clock = clock
            burst = self.next_id
            self.next_id += 1
            self.pending[burst] = (txn_state, ch)
            ctrl.enqueue(burst, bank, row, write, clock)
            if write:
                self._finish_burst(burst, clock + 1)
            if not self.wake[ch].triggered:
                self.wake[ch].succeed()

    # -- the channel side -------------------------------------------------------------

    def _channel(self, ch: int):
        ctrl = self.ctrls[ch]
        while True:
            if not ctrl.has_work():
                self.wake[ch] = self.env.event()
                yield self.wake[ch]
                continue
            ctrl.advance(self._clock(), self.done)
            if not self.room.triggered:     # queues may have room: let waiting DMAs retry
                self.room.succeed()
                self.room = self.env.event()
            if ctrl.has_work():
                yield self.env.timeout(max(1, self._cycle(ctrl.now) - self.env.now))

    def _observer(self, ch: int):
        part, per_clock = self.part, self.cycles_per_clock

        def issued(burst: int, col: int, is_write: bool, kind: int) -> None:
            txn_state, _ = self.pending[burst]
            data = col + (part.cwl if is_write else part.cl)
            start, end = data * per_clock, (data + part.burst_clocks) * per_clock
            counts = (int(kind == 0), int(kind == 1), int(kind == 2))
            wait = col * per_clock - txn_state.arrival
            self._counters.add_one(ch, part.burst_bytes, not is_write, counts, max(wait, 0.0),
                                   part.burst_clocks * per_clock)
            self._windows.add_one(ch, start, end, part.burst_bytes)
            txn_state.hits += counts[0]
            txn_state.misses += counts[1]
            txn_state.conflicts += counts[2]
            if txn_state.start < 0 or start < txn_state.start:
                txn_state.start = start
            if is_write:                    # completed when accepted (posted)
                del self.pending[burst]
            else:
                self._finish_burst(burst, self.done.pop(burst))
                del self.pending[burst]
        return issued

    def _finish_burst(self, burst: int, done_clock: int) -> None:
        txn_state, ch = self.pending[burst]
        if done_clock > txn_state.done:
            txn_state.done, txn_state.channel = done_clock, ch
        txn_state.left -= 1
        if txn_state.left == 0:
            done = max(self._cycle(txn_state.done), self.env.now)
            start = round(max(txn_state.start, txn_state.arrival)) if txn_state.start >= 0 \
                else done
            record = AccessRecord(txn_state.arrival, min(start, done), done, done,
                                  min(start, done) - txn_state.arrival, txn_state.channels,
                                  txn_state.hits, txn_state.misses, txn_state.conflicts,
                                  critical_channel=txn_state.channel)
            self.env.timeout(done - self.env.now).callbacks.append(
                lambda _event, e=txn_state.event, r=record: e.succeed(r))
