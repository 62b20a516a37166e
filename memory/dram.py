"""Off-chip DRAM: per-channel servers with bank state, refresh and a FIFO queue.

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
one knob (default 64 bursts, calibrated against DRAMsim3, see
benchmarks/dram_calibration.py) sets how well bank-level parallelism hides
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

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import simpy

from memory.address_map import DEFAULT_INTERLEAVE_BYTES, AddressMap, Blocks
from memory.presets import DramPreset, resolve_dram
from tlm.payload import Transaction

DEFAULT_LOOKAHEAD_BURSTS = 64
DEFAULT_WINDOW_CYCLES = 1024
MAX_WINDOWS = 4096
MODELS = ("banked", "bandwidth")
SMALL_BLOCKS = 16    # up to this many blocks per sub-request, plain Python beats numpy


class AccessRecord(NamedTuple):
    """What one transaction saw: the value of the event ``access`` returns."""

    arrival_cycle: int
    start_cycle: int        # first data-bus slot on any of its channels
    end_cycle: int          # last byte on the bus
    done_cycle: int         # completion (reads: + device latency)
    queue_cycles: int       # longest wait for a channel, over its channels
    channels: int
    row_hits: int
    row_misses: int
    row_conflicts: int


@dataclass
class ChannelStats:
    """Counters of one channel, updated as sub-requests are reserved."""

    bytes_read: int = 0
    bytes_written: int = 0
    requests: int = 0
    row_hits: int = 0
    row_misses: int = 0
    row_conflicts: int = 0
    activations: int = 0
    refreshes: int = 0
    queue_cycles_total: float = 0.0
    queue_cycles_max: float = 0.0
    busy_cycles: float = 0.0


@dataclass
class DramStats:
    """Whole-memory summary; ``to_dict()`` is JSON-ready."""

    name: str
    model: str
    preset: str
    channels: int
    elapsed_cycles: int
    peak_gbps: float
    achieved_gbps: float
    utilization: float
    transactions: int
    requests: int
    bytes_read: int
    bytes_written: int
    row_hits: int
    row_misses: int
    row_conflicts: int
    row_hit_rate: float
    activations: int
    refreshes: int
    mean_queue_cycles: float
    max_queue_cycles: float
    busy_cycles: float
    per_channel: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class WindowedBytes:
    """Bytes moved per fixed time window, in bounded memory.

    Bytes of a transfer are spread evenly over its bus interval. When time runs
    past ``max_windows`` windows, neighbouring windows are merged pairwise and
    the window doubles, so memory stays bounded however long the run.
    """

    def __init__(self, window_cycles: int = DEFAULT_WINDOW_CYCLES,
                 max_windows: int = MAX_WINDOWS) -> None:
        self.window_cycles = window_cycles
        self.counts = np.zeros(max_windows)

    def add(self, start: float, end: float, nbytes: float) -> None:
        while end >= self.window_cycles * len(self.counts):
            self._coarsen()
        w = self.window_cycles
        first, last = int(start // w), int(end // w)
        if first == last or end <= start:
            self.counts[first] += nbytes
            return
        edges = np.arange(first, last + 2, dtype=float) * w
        overlap = np.minimum(edges[1:], end) - np.maximum(edges[:-1], start)
        self.counts[first:last + 1] += nbytes * overlap / (end - start)

    def _coarsen(self) -> None:
        pairs = self.counts.reshape(-1, 2).sum(axis=1)
        self.counts[:] = 0.0
        self.counts[:len(pairs)] = pairs
        self.window_cycles *= 2

    def rebinned(self, window_cycles: int, until_cycle: float) -> tuple[int, np.ndarray]:
        """Counts in windows of ``window_cycles`` rounded up to a multiple of ours."""
        factor = max(1, -(-window_cycles // self.window_cycles))
        n = int(until_cycle // self.window_cycles) + 1
        n = -(-n // factor) * factor
        counts = np.zeros(n)
        used = min(n, len(self.counts))
        counts[:used] = self.counts[:used]
        return self.window_cycles * factor, counts.reshape(-1, factor).sum(axis=1)


class RefreshClock:
    """Refresh windows [k*tREFI - tRFC, k*tREFI) for k >= 1, in cycles."""

    def __init__(self, period_cycles: float, busy_cycles: float) -> None:
        self.period = period_cycles
        self.busy = busy_cycles

    def epoch(self, t: float) -> int:
        """Refreshes begun by time t (each one closes every row)."""
        return int((t + self.busy) // self.period) if self.busy > 0 else 0

    def advance_one(self, start: float, work: float) -> float:
        """``advance`` for one server, in plain Python (the common, small case)."""
        if self.busy <= 0:
            return start + work
        period, busy = self.period, self.busy
        u = start + busy
        k = u // period
        u = max(u, k * period + busy)
        spill = work - ((k + 1) * period - u)
        if spill <= 0:
            return u + work - busy
        periods = max(math.ceil(spill / (period - busy)) - 1, 0)
        return (k + 1) * period + periods * period + spill - periods * (period - busy)

    def advance(self, start: np.ndarray | float, work: np.ndarray | float) -> np.ndarray:
        """End of ``work`` cycles of service begun at ``start``, skipping refreshes."""
        start, work = np.asarray(start, dtype=float), np.asarray(work, dtype=float)
        if self.busy <= 0:
            return start + work
        period, busy = self.period, self.busy
        u = start + busy                       # in u, windows are [k*P, k*P + R)
        k = np.floor(u / period)
        u = np.maximum(u, k * period + busy)   # a start inside a window waits for its end
        room = (k + 1) * period - u
        spill = work - room
        periods = np.maximum(np.ceil(spill / (period - busy)) - 1, 0)
        late = (k + 1) * period + busy + periods * period + spill - periods * (period - busy)
        return np.where(spill <= 0, u + work, late) - busy


class _Cycles(NamedTuple):
    """The preset's timing in accelerator cycles (floats)."""

    burst: float
    rtrs: float
    act_window: float     # max(tRRD_S, tFAW / 4)
    ccd_l: float          # max(tCCD_L, t_burst)
    rrd_l: float
    rc: float
    hit: float
    miss: float
    conflict: float


def _cycles(preset: DramPreset, clock_mhz: float) -> _Cycles:
    t, c = preset.timing, clock_mhz / 1e3
    burst = preset.burst_ns * c
    return _Cycles(burst=burst, rtrs=t.t_rtrs_ns * c,
                   act_window=max(t.t_rrd_s_ns, t.t_faw_ns / 4) * c,
                   ccd_l=max(t.t_ccd_l_ns * c, burst), rrd_l=t.t_rrd_l_ns * c,
                   rc=t.t_rc_ns * c, hit=t.latency_hit_ns * c, miss=t.latency_miss_ns * c,
                   conflict=t.latency_conflict_ns * c)


class _ChannelState:
    """Server free times and open rows of one channel (banked model)."""

    def __init__(self, preset: DramPreset) -> None:
        self.bus_free = 0.0
        self.last_rank = -1
        self.rank_free = np.zeros(preset.ranks)
        self.group_free = np.zeros(preset.ranks * preset.bank_groups)
        self.bank_free = np.zeros(preset.banks_per_channel)
        self.open_row = np.full(preset.banks_per_channel, -1, dtype=np.int64)
        self.row_epoch = np.zeros(preset.banks_per_channel, dtype=np.int64)


def classify_rows(bank: np.ndarray, row: np.ndarray, state: _ChannelState,
                  epoch: int) -> np.ndarray:
    """Per block: 0 row hit, 1 miss, 2 conflict; updates the open rows.

    Blocks are taken in address order; a block's bank was last left open either
    by an earlier block of the same sub-request or by the bank state (unless a
    refresh closed it since).
    """
    order = np.argsort(bank, kind="stable")
    b, r = bank[order], row[order]
    first = np.ones(len(b), dtype=bool)
    first[1:] = b[1:] != b[:-1]
    prev = np.empty_like(r)
    prev[1:] = r[:-1]
    open_now = np.where(state.row_epoch[b] == epoch, state.open_row[b], -1)
    prev[first] = open_now[first]
    kinds = np.empty(len(b), dtype=np.int64)
    kinds[order] = np.where(prev == r, 0, np.where(prev < 0, 1, 2))
    last = np.ones(len(b), dtype=bool)
    last[:-1] = b[1:] != b[:-1]
    state.open_row[b[last]] = r[last]
    state.row_epoch[b[last]] = epoch
    return kinds


class _Reservation(NamedTuple):
    """One sub-request's schedule on one channel, in float cycles."""

    start: float
    end: float
    done: float
    hits: int
    misses: int
    conflicts: int


class Dram:
    """The off-chip memory: ``yield dram.access(txn)`` inside a DMA process."""

    def __init__(self, env: simpy.Environment, name: str, preset: DramPreset,
                 clock_mhz: float = 1000.0, model: str = "banked", *,
                 interleave_bytes: int = DEFAULT_INTERLEAVE_BYTES,
                 lookahead_bursts: float = DEFAULT_LOOKAHEAD_BURSTS,
                 window_cycles: int = DEFAULT_WINDOW_CYCLES) -> None:
        if model not in MODELS:
            raise ValueError(f"{name}: model {model!r}, expected one of {', '.join(MODELS)}")
        self.env, self.name, self.preset, self.model = env, name, preset, model
        self.clock_mhz = clock_mhz
        self.address_map = AddressMap.for_preset(preset, interleave_bytes)
        self.cycles = _cycles(preset, clock_mhz)
        self.lookahead_cycles = lookahead_bursts * self.cycles.burst
        per_ns = clock_mhz / 1e3
        banked = model == "banked"
        self.refresh = RefreshClock(preset.timing.t_refi_ns * per_ns,
                                    preset.timing.t_rfc_ns * per_ns if banked else 0.0)
        self.bytes_per_cycle = preset.peak_gbps_per_channel / per_ns
        self.latency_cycles = preset.latency_ns * per_ns
        self._state = [_ChannelState(preset) for _ in range(preset.channels)]
        self.channel_stats = [ChannelStats() for _ in range(preset.channels)]
        self._windows = [WindowedBytes(window_cycles) for _ in range(preset.channels)]
        self.transactions = 0

    @classmethod
    def from_config(cls, env: simpy.Environment, name: str, cfg: Any, **kwargs: Any) -> "Dram":
        """Build from a ``tlm.config.SystemConfig`` (its ``dram`` section and clock)."""
        return cls(env, name, resolve_dram(cfg.dram), cfg.clock_mhz, cfg.dram.model, **kwargs)

    # -- the transaction interface -------------------------------------------------

    def access(self, txn: Transaction) -> simpy.Timeout:
        """An event that fires when ``txn`` is complete; its value is an AccessRecord."""
        arrival = self.env.now
        self.transactions += 1
        if txn.length_bytes <= 0:
            return self.env.timeout(0, value=AccessRecord(arrival, arrival, arrival, arrival,
                                                          0, 0, 0, 0, 0))
        blocks = self.address_map.decode(txn.address, txn.length_bytes)
        reservations = [self._reserve(ch, sub, arrival, txn.is_read)
                        for ch, sub in self._split(blocks)]
        record = _record(arrival, reservations)
        return self.env.timeout(record.done_cycle - arrival, value=record)

    def _split(self, blocks: Blocks) -> list[tuple[int, Blocks]]:
        """One sub-request per channel the transaction touches.

        The channel is the least significant field of the block index, so the
        blocks of one channel are every ``channels``-th block: strided views.
        """
        n, stride = len(blocks.channel), self.preset.channels
        if n == 1 or stride == 1:
            return [(int(blocks.channel[0]), blocks)]
        names = [f.name for f in dataclasses.fields(Blocks)]
        return [(int(blocks.channel[j]),
                 Blocks(**{k: getattr(blocks, k)[j::stride] for k in names}))
                for j in range(min(n, stride))]

    def _reserve(self, ch: int, blk: Blocks, arrival: int, is_read: bool) -> _Reservation:
        nbytes = int(blk.nbytes.sum())
        if self.model == "bandwidth":
            res, busy = self._reserve_bandwidth(self._state[ch], nbytes, arrival, is_read)
        else:
            res, busy = self._reserve_banked(self._state[ch], blk, arrival, is_read)
        self._account(ch, nbytes, res, busy, arrival, is_read)
        return res

    # -- the two timing models -----------------------------------------------------

    def _reserve_bandwidth(self, st: _ChannelState, nbytes: int, arrival: int,
                           is_read: bool) -> tuple[_Reservation, float]:
        start = max(st.bus_free, float(arrival))
        work = nbytes / self.bytes_per_cycle
        st.bus_free = start + work
        done = st.bus_free + (self.latency_cycles if is_read else 0.0)
        return _Reservation(start, st.bus_free, done, 0, 0, 0), work

    def _reserve_banked(self, st: _ChannelState, blk: Blocks, arrival: int,
                        is_read: bool) -> tuple[_Reservation, float]:
        start = self.refresh.advance_one(max(st.bus_free, float(arrival)), 0.0)
        # the controller prepares rows only for requests within its lookahead
        ready = max(float(arrival), st.bus_free - self.lookahead_cycles)
        if len(blk.bank) <= SMALL_BLOCKS:
            aux, kinds, bus_work = self._serve_small(st, blk, start, ready)
        else:
            aux, kinds, bus_work = self._serve_vector(st, blk, start, ready)
        misses, conflicts = kinds.count(1), kinds.count(2)
        counts = (int(blk.bursts.sum()) - misses - conflicts, misses, conflicts)
        return self._finish(st, start, ready, bus_work, aux, kinds[0], is_read, counts)

    def _serve_small(self, st: _ChannelState, blk: Blocks, start: float,
                     ready: float) -> tuple[float, list[int], float]:
        """Few blocks: classify and serve them one by one, in plain Python."""
        c, epoch = self.cycles, self.refresh.epoch(start)
        aux, kinds, bus_work = 0.0, [], 0.0
        for rank, group, bank, row, bursts in zip(blk.rank.tolist(), blk.bank_group.tolist(),
                                                  blk.bank.tolist(), blk.row.tolist(),
                                                  blk.bursts.tolist()):
            open_row = int(st.open_row[bank]) if st.row_epoch[bank] == epoch else -1
            kind = 0 if open_row == row else (1 if open_row < 0 else 2)
            st.open_row[bank], st.row_epoch[bank] = row, epoch
            bus_work += bursts * c.burst + (0 <= st.last_rank != rank) * c.rtrs
            st.last_rank = rank
            kinds.append(kind)
            group_work = max(bursts * c.ccd_l, (kind > 0) * c.rrd_l)
            aux = max(aux, self._serve_one(st.group_free, group, group_work, c.ccd_l, ready))
            if kind > 0:
                aux = max(aux, self._serve_one(st.rank_free, rank, c.act_window,
                                               c.act_window, ready),
                          self._serve_one(st.bank_free, bank, c.rc, c.rc, ready))
        return aux, kinds, bus_work

    def _serve_one(self, free: np.ndarray, index: int, work: float, unit: float,
                   ready: float) -> float:
        finish = self.refresh.advance_one(max(float(free[index]), ready), work)
        free[index] = finish
        return finish - unit + self.cycles.burst

    def _serve_vector(self, st: _ChannelState, blk: Blocks, start: float,
                      ready: float) -> tuple[float, list[int], float]:
        """Many blocks: the same closed form, with each server's work summed in numpy.

        Serving a server's blocks back to back ends where serving their summed
        work ends, so this equals ``_serve_small`` block for block.
        """
        c, p = self.cycles, self.preset
        kinds = classify_rows(blk.bank, blk.row, st, self.refresh.epoch(start))
        acts = (kinds > 0).astype(float)
        bus_work = int(blk.bursts.sum()) * c.burst + self._rank_switches(st, blk.rank) * c.rtrs
        group_work = np.maximum(blk.bursts * c.ccd_l, acts * c.rrd_l)
        servers = (
            (st.rank_free, np.bincount(blk.rank, acts, p.ranks) * c.act_window, c.act_window),
            (st.group_free, np.bincount(blk.bank_group, group_work, len(st.group_free)), c.ccd_l),
            (st.bank_free, np.bincount(blk.bank, acts, p.banks_per_channel) * c.rc, c.rc),
        )
        aux = 0.0
        for free, work, unit in servers:
            used = work > 0
            if used.any():
                finish = self.refresh.advance(np.maximum(free[used], ready), work[used])
                free[used] = finish
                aux = max(aux, float(finish.max()) - unit + c.burst)
        return aux, kinds.tolist(), bus_work

    def _rank_switches(self, st: _ChannelState, rank: np.ndarray) -> int:
        switches = int((rank[1:] != rank[:-1]).sum())
        if st.last_rank >= 0 and rank[0] != st.last_rank:
            switches += 1
        st.last_rank = int(rank[-1])
        return switches

    def _finish(self, st: _ChannelState, start: float, ready: float, bus_work: float,
                aux_bound: float, first_kind: int, is_read: bool,
                counts: tuple[int, int, int]) -> tuple[_Reservation, float]:
        """End of service (bus and other servers) and completion of one sub-request.

        Data cannot flow before the first block's row is open: the activation
        (miss) or precharge + activation (conflict) can start at ``ready``, so it
        is hidden when there was earlier bus work to overlap it with.
        """
        c = self.cycles
        first_prefix = (c.hit, c.miss, c.conflict)[first_kind] - c.hit
        end = max(self.refresh.advance_one(start, bus_work), aux_bound,
                  ready + first_prefix + bus_work)
        st.bus_free = end
        done = end + max(c.hit - c.burst, 0.0) if is_read else end
        return _Reservation(start, end, done, *counts), bus_work

    # -- statistics ----------------------------------------------------------------

    def _account(self, ch: int, nbytes: int, res: _Reservation, busy: float,
                 arrival: int, is_read: bool) -> None:
        s = self.channel_stats[ch]
        if is_read:
            s.bytes_read += nbytes
        else:
            s.bytes_written += nbytes
        s.requests += 1
        s.row_hits += res.hits
        s.row_misses += res.misses
        s.row_conflicts += res.conflicts
        s.activations += res.misses + res.conflicts
        wait = res.start - arrival
        s.queue_cycles_total += wait
        s.queue_cycles_max = max(s.queue_cycles_max, wait)
        s.busy_cycles += busy
        self._windows[ch].add(res.start, res.end, nbytes)

    def bandwidth_windows(self, window_cycles: int = DEFAULT_WINDOW_CYCLES,
                          channel: int | None = None) -> list[tuple[int, float]]:
        """(window start cycle, achieved GB/s) from 0 to now, all channels or one.

        The window is rounded up to a multiple of the recorded resolution (which
        coarsens on long runs to keep memory bounded).
        """
        chosen = self._windows if channel is None else [self._windows[channel]]
        until = max(float(self.env.now), max(s.bus_free for s in self._state))
        width, total = 0, None
        for windows in chosen:
            width, counts = windows.rebinned(window_cycles, until)
            total = counts if total is None else _add_padded(total, counts)
        per_ns = self.clock_mhz / 1e3
        return [(i * width, float(b) / width * per_ns) for i, b in enumerate(total)]

    def stats(self) -> DramStats:
        """Aggregate counters as of ``env.now``."""
        now = self.env.now
        for s in self.channel_stats:
            s.refreshes = self.refresh.epoch(now)
        per = [dataclasses.asdict(s) for s in self.channel_stats]
        total = {k: sum(c[k] for c in per) for k in per[0]}
        accesses = total["row_hits"] + total["row_misses"] + total["row_conflicts"]
        moved = total["bytes_read"] + total["bytes_written"]
        achieved = moved / now * self.clock_mhz / 1e3 if now > 0 else 0.0
        return DramStats(
            name=self.name, model=self.model, preset=self.preset.name,
            channels=self.preset.channels, elapsed_cycles=now,
            peak_gbps=self.preset.peak_gbps, achieved_gbps=achieved,
            utilization=achieved / self.preset.peak_gbps, transactions=self.transactions,
            requests=total["requests"], bytes_read=total["bytes_read"],
            bytes_written=total["bytes_written"], row_hits=total["row_hits"],
            row_misses=total["row_misses"], row_conflicts=total["row_conflicts"],
            row_hit_rate=total["row_hits"] / accesses if accesses else 0.0,
            activations=total["activations"], refreshes=total["refreshes"],
            mean_queue_cycles=(total["queue_cycles_total"] / total["requests"]
                               if total["requests"] else 0.0),
            max_queue_cycles=max(c["queue_cycles_max"] for c in per),
            busy_cycles=total["busy_cycles"], per_channel=per)

    def trace_line(self) -> str:
        """One-line textual state, for debugging."""
        free = " ".join(f"{s.bus_free:.0f}" for s in self._state)
        return f"{self.name} @{self.env.now}: {self.transactions} txns, bus free at [{free}]"


def _add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = max(len(a), len(b))
    out = np.zeros(n)
    out[:len(a)] += a
    out[:len(b)] += b
    return out


def _record(arrival: int, reservations: list[_Reservation]) -> AccessRecord:
    start = min(r.start for r in reservations)
    return AccessRecord(
        arrival_cycle=arrival, start_cycle=round(start),
        end_cycle=round(max(r.end for r in reservations)),
        done_cycle=max(arrival, round(max(r.done for r in reservations))),
        queue_cycles=round(max(r.start for r in reservations) - arrival),
        channels=len(reservations), row_hits=sum(r.hits for r in reservations),
        row_misses=sum(r.misses for r in reservations),
        row_conflicts=sum(r.conflicts for r in reservations))
