"""Off-chip DRAM: per-channel servers with bank state, refresh and a FIFO queue.

The ``Dram`` is the memory target the DMAs talk to; its two reservation models
are separate classes behind one interface (``access``: serve a transaction and
return its ``AccessRecord``): ``BankedModel`` (memory/dram_banked.py) and
``BandwidthModel`` (memory/dram_bandwidth.py). The Dram keeps the shared state
(bus free times, counters, bandwidth windows) that the models update, and turns
a record into the completion event.

One transaction (a tile) costs one SimPy event, whatever its size. It is split
per channel into sub-requests; each channel is a FIFO server whose schedule is
computed when a sub-request arrives (a *reservation*, as in a TLM-2.0 loosely
timed target annotating a delay): requests reserve time in arrival order, so a
second initiator on a busy channel sees queueing delay, and a transaction
completes when its slowest channel does. ``yield dram.access(txn)`` waits once.

Banked model. Inside a sub-request the blocks of the address map are
classified, vectorised, against the open-row state of their banks: row hit,
miss (bank closed) or conflict (another row open). Counting is per burst, as
DRAMsim3 counts per 64 B request: a block of n bursts is one classified access
plus n-1 hits. The service time is the closed form of a controller that
overlaps activations with data transfers on other banks: every resource a
sub-request uses is a server that must do its share of the work —

    data bus      bursts * t_burst + rank switches * tRTRS
    rank          activations * max(tRRD_S, tFAW / 4)      (activation window)
    bank group    max(bursts * max(tCCD_L, t_burst), activations * tRRD_L)
    bank          activations * tRC                       (row cycle)

and the sub-request ends when the last of them is done. Data leaves the bus in
order (the bus is free again only at that end), but the other servers may start
a request's work up to ``lookahead_bursts`` bursts of bus time before the bus
reaches it: a controller prepares rows only for requests inside its queue. That
one knob (default 64 bursts, set against DRAMsim3 reference points; the
check is tests/test_dram.py::test_calibration_ordering_and_bounds) sets how well bank-level parallelism hides
activations. Refresh blocks a channel for tRFC at the end of every tREFI and
closes every row; all servers skip those windows. Reads complete one device
latency after their data leaves the bus: the row-hit latency, or the miss /
conflict latency of the first block when there was no earlier bus time to hide
the activation in. Writes complete when the bus has accepted their data.

Bandwidth model (the baseline): one FIFO server per channel, service = bytes /
peak bandwidth, reads complete a fixed latency later; no banks, no refresh.

Time is float cycles inside the servers (throughput stays exact) and completion
is *rounded* to integer cycles, so with an enormous bandwidth and zero latency a
transfer costs exactly 0 cycles.
"""

from __future__ import annotations

from typing import Any

import simpy

from memory.address_map import DEFAULT_INTERLEAVE_BYTES, AddressMap
from memory.dram_bandwidth import BandwidthModel
from memory.dram_banked import BankedModel, ChannelState, to_cycles
from memory.dram_controller import ControllerModel
from memory.dram_records import AccessRecord
from memory.dram_stats import (DEFAULT_WINDOW_CYCLES, ChannelCounters, ChannelStats,
                               DramRecord, DramStats, RefreshClock, WindowedBytes)
from memory.payload import Transaction
from memory.presets import DramPreset, resolve_dram

__all__ = ["AccessRecord", "ChannelStats", "Dram", "DramRecord", "DramStats", "MODELS"]

DEFAULT_LOOKAHEAD_BURSTS = 64
MODELS = {"banked": BankedModel, "bandwidth": BandwidthModel, "controller": ControllerModel}


class Dram:
    """The off-chip memory: ``yield dram.access(txn)`` inside a DMA process."""

    def __init__(self, env: simpy.Environment, name: str, preset: DramPreset,
                 clock_mhz: float = 1000.0, model: str = "banked", *,
                 interleave_bytes: int = DEFAULT_INTERLEAVE_BYTES,
                 lookahead_bursts: float = DEFAULT_LOOKAHEAD_BURSTS,
                 window_cycles: int = DEFAULT_WINDOW_CYCLES, fast_path: bool = True,
                 address_map: str = "", xor_bank: bool = False) -> None:
        if model not in MODELS:
            raise ValueError(f"{name}: model {model!r}, expected one of {', '.join(MODELS)}")
        self.env, self.name, self.preset, self.model = env, name, preset, model
        self.clock_mhz = clock_mhz
        self.address_map = AddressMap.for_preset(preset, interleave_bytes)
        self.cycles = c = to_cycles(preset, clock_mhz)
        self.lookahead_cycles = lookahead_bursts * c.burst
        per_ns = clock_mhz / 1e3
        self.refresh = RefreshClock(preset.timing.t_refi_ns * per_ns,
                                    preset.timing.t_rfc_ns * per_ns if model == "banked" else 0.0)
        self.bytes_per_cycle = preset.peak_gbps_per_channel / per_ns
        self.latency_cycles = preset.latency_ns * per_ns
        self._state = ChannelState(self.address_map)
        self._counters = ChannelCounters(preset.channels)
        self._windows = WindowedBytes(preset.channels, window_cycles)
        self.transactions = 0
        self.address_order, self.xor_bank = address_map, xor_bank   # the controller model's map
        self.fast_path = fast_path      # False: every transaction takes the vector path, uncached
        self.timing = MODELS[model](self)

    @classmethod
    def from_config(cls, env: simpy.Environment, name: str, cfg: Any, **kwargs: Any) -> "Dram":
        """Build from a ``tlm.config.SystemConfig`` (its ``dram`` section and clock)."""
        return cls(env, name, resolve_dram(cfg.dram), cfg.clock_mhz, cfg.dram.model,
                   address_map=cfg.dram.address_map, xor_bank=cfg.dram.xor_bank, **kwargs)

    @property
    def channel_stats(self) -> list[ChannelStats]:
        return self._counters.snapshot(self.refresh.epoch(self.env.now))

    # -- the transaction interface -------------------------------------------------

    def access(self, txn: Transaction) -> simpy.Timeout:
        """An event that fires when ``txn`` is complete; its value is an AccessRecord."""
        arrival = self.env.now
        self.transactions += 1
        if txn.length_bytes <= 0:
            return self.env.timeout(0, value=AccessRecord(arrival, arrival, arrival, arrival,
                                                          0, 0, 0, 0, 0))
        if self.model == "controller":
            return self.timing.submit(txn)
        record = self.timing.access(txn.address, txn.length_bytes, arrival, txn.is_read)
        return self.env.timeout(record.done_cycle - arrival, value=record)

    # -- statistics ----------------------------------------------------------------

    def bandwidth_windows(self, window_cycles: int = DEFAULT_WINDOW_CYCLES,
                          channel: int | None = None) -> list[tuple[int, float]]:
        """(window start cycle, achieved GB/s) from 0 to now, all channels or one."""
        return self.record().bandwidth_windows(window_cycles, channel)

    def record(self) -> DramRecord:
        """Everything measured so far, frozen: what a run hands to the reports."""
        until = max(float(self.env.now), max(self._state.bus_free))
        resolution, counts = self._windows.record(until)
        return DramRecord(self.stats(), self.clock_mhz, until, resolution, counts)

    def stats(self) -> DramStats:
        """Aggregate counters as of ``env.now``."""
        return DramStats.summarize(self.name, self.model, self.preset, self.clock_mhz,
                                   self.env.now, self.transactions, self.channel_stats)

    def trace_line(self) -> str:
        """One-line textual state, for debugging."""
        free = " ".join(f"{t:.0f}" for t in self._state.bus_free)
        return f"{self.name} @{self.env.now}: {self.transactions} txns, bus free at [{free}]"
