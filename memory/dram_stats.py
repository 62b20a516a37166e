"""What the DRAM counts and the clock it counts against: refresh windows,
per-channel counters, bytes moved per time window, and the JSON-ready summary.

Counters are plain lists with one entry per channel: a transaction touches a
handful of channels, and a few list updates cost less than numpy calls on tiny
arrays. Bytes per window are folded in batches: the model appends each
sub-request's bus interval to a buffer and the buffer is spread over windows,
vectorised, when it fills up or when someone asks for the windows.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from memory.presets import DramPreset

DEFAULT_WINDOW_CYCLES = 1024
MAX_WINDOWS = 4096
PENDING_SPANS = 4096      # bus intervals buffered before they are folded into windows


@dataclass
class ChannelStats:
    """Counters of one channel (a snapshot of ``ChannelCounters``)."""

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

    @classmethod
    def summarize(cls, name: str, model: str, preset: DramPreset, clock_mhz: float,
                  elapsed_cycles: int, transactions: int,
                  channels: list[ChannelStats]) -> "DramStats":
        """Totals and rates over the channels' counters."""
        now, per = elapsed_cycles, [s.__dict__.copy() for s in channels]
        total = {k: sum(c[k] for c in per) for k in per[0]}
        accesses = total["row_hits"] + total["row_misses"] + total["row_conflicts"]
        moved = total["bytes_read"] + total["bytes_written"]
        achieved = moved / now * clock_mhz / 1e3 if now > 0 else 0.0
        return cls(
            name=name, model=model, preset=preset.name,
            channels=preset.channels, elapsed_cycles=now,
            peak_gbps=preset.peak_gbps, achieved_gbps=achieved,
            utilization=achieved / preset.peak_gbps, transactions=transactions,
            requests=total["requests"], bytes_read=total["bytes_read"],
            bytes_written=total["bytes_written"], row_hits=total["row_hits"],
            row_misses=total["row_misses"], row_conflicts=total["row_conflicts"],
            row_hit_rate=total["row_hits"] / accesses if accesses else 0.0,
            activations=total["activations"], refreshes=total["refreshes"],
            mean_queue_cycles=(total["queue_cycles_total"] / total["requests"]
                               if total["requests"] else 0.0),
            max_queue_cycles=max(c["queue_cycles_max"] for c in per),
            busy_cycles=total["busy_cycles"], per_channel=per)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ChannelCounters:
    """Per-channel counters as plain lists; ``add`` takes one transaction's sub-requests.

    A transaction touches at most a handful of channels, and updating a few list
    entries costs less than a vector operation per counter. Float sums are
    accumulated channel by channel in arrival order, exactly as one scalar
    counter per channel would, so totals do not depend on batching.
    """

    def __init__(self, channels: int) -> None:
        self.bytes_read, self.bytes_written = [0] * channels, [0] * channels
        self.requests = [0] * channels
        self.row_hits, self.row_misses = [0] * channels, [0] * channels
        self.row_conflicts = [0] * channels
        self.queue_total, self.queue_max = [0.0] * channels, [0.0] * channels
        self.busy = [0.0] * channels

    def add(self, channels: Sequence[int], nbytes: Sequence[int], is_read: bool,
            counts: tuple[Sequence[int], Sequence[int], Sequence[int]],
            start_cycles: Sequence[float], arrival: int, busy_cycles: Sequence[float]) -> None:
        """Count one transaction's sub-requests on ``channels``.

        ``nbytes``, ``counts`` (bursts, misses, conflicts: the rest of the bursts are
        hits), ``start_cycles`` (the wait is from ``arrival``) and ``busy_cycles`` are
        parallel to ``channels``.
        """
        moved = self.bytes_read if is_read else self.bytes_written
        requests, row_hits, row_misses = self.requests, self.row_hits, self.row_misses
        row_conflicts, queue_total, queue_max, busy = (self.row_conflicts, self.queue_total,
                                                       self.queue_max, self.busy)
        for ch, n, bursts, misses, conflicts, start, work in zip(channels, nbytes, *counts,
                                                                 start_cycles, busy_cycles):
            moved[ch] += n
            requests[ch] += 1
            row_hits[ch] += bursts - misses - conflicts
            row_misses[ch] += misses
            row_conflicts[ch] += conflicts
            wait = start - arrival
            queue_total[ch] += wait
            if wait > queue_max[ch]:
                queue_max[ch] = wait
            busy[ch] += work

    def add_one(self, ch: int, nbytes: int, is_read: bool, counts: tuple,
                wait_cycles: float, busy_cycles: float) -> None:
        """``add`` for a transaction on one channel, with scalars."""
        (self.bytes_read if is_read else self.bytes_written)[ch] += nbytes
        self.requests[ch] += 1
        self.row_hits[ch] += counts[0]
        self.row_misses[ch] += counts[1]
        self.row_conflicts[ch] += counts[2]
        self.queue_total[ch] += wait_cycles
        if wait_cycles > self.queue_max[ch]:
            self.queue_max[ch] = wait_cycles
        self.busy[ch] += busy_cycles

    def snapshot(self, refreshes: int) -> list[ChannelStats]:
        return [ChannelStats(
            bytes_read=int(self.bytes_read[c]), bytes_written=int(self.bytes_written[c]),
            requests=int(self.requests[c]), row_hits=int(self.row_hits[c]),
            row_misses=int(self.row_misses[c]), row_conflicts=int(self.row_conflicts[c]),
            activations=int(self.row_misses[c] + self.row_conflicts[c]), refreshes=refreshes,
            queue_cycles_total=float(self.queue_total[c]),
            queue_cycles_max=float(self.queue_max[c]), busy_cycles=float(self.busy[c]))
            for c in range(len(self.requests))]


class WindowedBytes:
    """Bytes moved per channel and fixed time window, in bounded memory.

    Bytes of a transfer are spread evenly over its bus interval. When time runs
    past ``max_windows`` windows, neighbouring windows are merged pairwise and
    the window doubles (for all channels at once), so memory stays bounded
    however long the run.
    """

    def __init__(self, channels: int, window_cycles: int = DEFAULT_WINDOW_CYCLES,
                 max_windows: int = MAX_WINDOWS) -> None:
        self.window_cycles = window_cycles
        self.counts = np.zeros((channels, max_windows))
        # buffered transfers: multi-channel ones as parallel lists, one-block ones apart
        # (they are folded after the others, so sums keep their order)
        self._pending: tuple[list[int], list[float], list[float], list[int]] = ([], [], [], [])
        self._pending_one: list[tuple[int, float, float, int]] = []
        self._pending_spans = 0

    def add(self, channels: list[int], start: list[float], end: list[float],
            nbytes: list[int]) -> None:
        """Record transfers of ``nbytes`` over [start, end] on ``channels`` (parallel lists)."""
        pending_ch, pending_start, pending_end, pending_bytes = self._pending
        pending_ch += channels
        pending_start += start
        pending_end += end
        pending_bytes += nbytes
        self._pending_spans += len(self.counts)
        if self._pending_spans >= PENDING_SPANS:
            self.flush()

    def add_one(self, channel: int, start: float, end: float, nbytes: int) -> None:
        """``add`` for one transfer on one channel (kept as plain numbers until flushed)."""
        self._pending_one.append((channel, start, end, nbytes))
        self._pending_spans += 1
        if self._pending_spans >= PENDING_SPANS:
            self.flush()

    def flush(self) -> None:
        """Spread the buffered transfers over the windows."""
        pending = self._pending
        if self._pending_one:
            for column, values in zip(pending, zip(*self._pending_one)):
                column += values
        self._pending, self._pending_one, self._pending_spans = ([], [], [], []), [], 0
        if not pending[0]:
            return
        channel = np.array(pending[0], dtype=np.int64)
        start, end, nbytes = (np.array(column, dtype=float) for column in pending[1:])
        while end.max() >= self.window_cycles * self.counts.shape[1]:
            self._coarsen()
        w = self.window_cycles
        first, last = start // w, end // w
        single = (first == last) | (end <= start)
        widths = np.where(single, 1, last - first + 1).astype(np.int64)
        span = np.repeat(np.arange(len(start)), widths)
        window = np.repeat(first.astype(np.int64), widths) + (
            np.arange(len(span)) - np.repeat(np.cumsum(widths) - widths, widths))
        s, e = start[span], end[span]
        overlap = np.minimum((window + 1) * float(w), e) - np.maximum(window * float(w), s)
        share = np.where(single[span], nbytes[span],
                         nbytes[span] * overlap / np.where(single[span], 1.0, e - s))
        # only the windows these transfers reach (the others would only gain zeros)
        low, count = int(window.min()), int(window.max() - window.min()) + 1
        flat = channel[span] * count + (window - low)
        self.counts[:, low:low + count] += np.bincount(flat, share, len(self.counts) * count
                                                       ).reshape(len(self.counts), count)

    def _coarsen(self) -> None:
        pairs = self.counts.reshape(len(self.counts), -1, 2).sum(axis=2)
        self.counts[:] = 0.0
        self.counts[:, :pairs.shape[1]] = pairs
        self.window_cycles *= 2

    def record(self, until_cycle: float) -> tuple[int, np.ndarray]:
        """(window cycles, a copy of the counts per channel up to ``until_cycle``)."""
        self.flush()
        used = min(self.counts.shape[1], int(until_cycle // self.window_cycles) + 1)
        return self.window_cycles, self.counts[:, :used].copy()


def rebin(counts: np.ndarray, resolution_cycles: int, window_cycles: int,
          until_cycle: float) -> tuple[int, np.ndarray]:
    """Counts per ``resolution_cycles`` window regrouped into windows of ``window_cycles``
    rounded up to a multiple of the resolution, from 0 to ``until_cycle``."""
    factor = max(1, -(-window_cycles // resolution_cycles))
    n = int(until_cycle // resolution_cycles) + 1
    n = -(-n // factor) * factor
    padded = np.zeros(n)
    used = min(n, len(counts))
    padded[:used] = counts[:used]
    return resolution_cycles * factor, padded.reshape(-1, factor).sum(axis=1)


@dataclass(frozen=True)
class DramRecord:
    """What the DRAM measured in a run, as numbers and arrays: no live model inside."""

    stats: DramStats
    clock_mhz: float
    until_cycle: float            # the last cycle the data bus was busy (or the run's end)
    resolution_cycles: int        # width of the windows in ``window_bytes``
    window_bytes: np.ndarray      # bytes moved per channel and window (channels × windows)

    def bandwidth_windows(self, window_cycles: int = DEFAULT_WINDOW_CYCLES,
                          channel: int | None = None) -> list[tuple[int, float]]:
        """(window start cycle, achieved GB/s) from 0 to the end, all channels or one.

        The window is rounded up to a multiple of the recorded resolution (which
        coarsens on long runs to keep memory bounded).
        """
        counts = (self.window_bytes.sum(axis=0) if channel is None
                  else self.window_bytes[channel])
        width, total = rebin(counts, self.resolution_cycles, window_cycles, self.until_cycle)
        per_ns = self.clock_mhz / 1e3
        return [(i * width, float(b) / width * per_ns) for i, b in enumerate(total)]


class RefreshClock:
    """Refresh windows [k*tREFI - tRFC, k*tREFI) for k >= 1, in cycles."""

    def __init__(self, period_cycles: float, busy_cycles: float) -> None:
        self.period = period_cycles
        self.busy = busy_cycles
        self._busy = np.array(busy_cycles)   # an array operand costs numpy less than a float

    def epoch(self, t: float) -> int:
        """Refreshes begun by time t (each one closes every row)."""
        return int((t + self.busy) // self.period) if self.busy > 0 else 0

    def skip_one(self, t: float) -> tuple[float, int]:
        """``advance(t, 0)`` (a time inside a refresh moves to its end) and its epoch."""
        busy, period = self.busy, self.period
        if busy <= 0:
            return t, 0
        u = t + busy
        end = u // period * period + busy     # of the window this period begins with
        start = (end if end > u else u) - busy
        # the epoch of the moved time, as ``epoch`` computes it (same rounding)
        return start, int((start + busy) // period)

    def advance_exact(self, start: float, work: float, one_block: bool = False) -> float:
        """``advance`` for one server in plain Python, rounding exactly as ``advance``.

        ``one_block``: sum a refresh skip in the order the one-block path always has
        (both orders are kept so that each path keeps its results).
        """
        busy = self.busy
        if busy <= 0:
            return start + work
        period = self.period
        u = start + busy
        k = u // period
        end = k * period + busy
        if end > u:        # a start inside a window waits for its end
            u = end
        spill = work - ((k + 1) * period - u)
        if spill <= 0:
            return u + work - busy
        periods = max(math.ceil(spill / (period - busy)) - 1, 0)
        if one_block:
            return (k + 1) * period + periods * period + spill - periods * (period - busy)
        return (k + 1) * period + busy + periods * period + spill - periods * (period - busy) - busy

    def advance_one(self, start: float, work: float) -> float:
        """``advance`` for one server, in plain Python (the common, small case)."""
        return self.advance_exact(start, work, True)

    def clear(self, earliest: float, latest: float, work: float) -> bool:
        """Whether service begun at any time in [earliest, latest] ends, after at most
        ``work`` cycles, before the next refresh, none beginning inside one. Then
        ``advance`` is ``start + busy + work - busy`` (rounded in that order): floor
        division is monotone, so the earliest and the latest start share their period."""
        busy, period = self.busy, self.period
        if busy <= 0:
            return True
        first, last = earliest + busy, latest + busy
        k = first // period
        return last // period == k and first >= k * period + busy and \
            work <= (k + 1) * period - last

    def advance_all(self, starts: list[float], works: list[float]) -> list[float]:
        """``advance_exact`` of each (start, work) pair."""
        busy = self.busy
        if self.clear(min(starts), max(starts), max(works)):
            return [start + busy + work - busy for start, work in zip(starts, works)]
        return [self.advance_exact(start, work) for start, work in zip(starts, works)]

    def advance(self, start: np.ndarray, work: np.ndarray, earliest: float | None = None,
                work_max: float | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """End of ``work`` cycles of service begun at ``start``, skipping refreshes;
        ``earliest``, if given, is no later than any start, and ``work_max`` is
        ``work.max()``. ``out``, if given, receives the result (it may be ``start``)."""
        busy, period = self.busy, self.period
        if busy <= 0:
            return np.add(start, work, out=out)
        if self.clear(float(start.min()) if earliest is None else earliest, float(start.max()),
                      float(work.max()) if work_max is None else work_max):
            u = np.add(start, self._busy, out=out)     # as below, where k is one number
            u += work
            u -= self._busy
            return u
        u = start + busy                       # in u, windows are [k*P, k*P + R)
        k = u // period                        # floor division as Python's, as advance_exact
        u = np.maximum(u, k * period + busy)   # a start inside a window waits for its end
        spill = work - ((k + 1) * period - u)
        if spill.max() <= 0:                   # no refresh to skip
            return np.subtract(u + work, busy, out=out)
        periods = np.maximum(np.ceil(spill / (period - busy)) - 1, 0)
        late = (k + 1) * period + busy + periods * period + spill - periods * (period - busy)
        return np.subtract(np.where(spill <= 0, u + work, late), busy, out=out)
