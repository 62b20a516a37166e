"""What the DRAM counts and the clock it counts against: refresh windows,
per-channel counters, bytes moved per time window, and the JSON-ready summary.

Counters are numpy vectors with one entry per channel, so a transaction that
touches every channel updates them with a handful of vector additions rather
than one Python attribute update per channel and counter. Bytes per window are
folded in batches for the same reason: the model appends each sub-request's bus
interval to a buffer and the buffer is spread over windows, vectorised, when it
fills up or when someone asks for the windows.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ChannelCounters:
    """Per-channel counters as vectors; ``add`` takes one sub-request per channel.

    Float sums are accumulated channel by channel in arrival order, exactly as
    one scalar counter per channel would, so totals do not depend on batching.
    """

    def __init__(self, channels: int) -> None:
        zeros = lambda dtype: np.zeros(channels, dtype=dtype)  # noqa: E731
        self.bytes_read, self.bytes_written = zeros(np.int64), zeros(np.int64)
        self.requests = zeros(np.int64)
        self.row_hits, self.row_misses = zeros(np.int64), zeros(np.int64)
        self.row_conflicts = zeros(np.int64)
        self.queue_total, self.queue_max = zeros(float), zeros(float)
        self.busy = zeros(float)

    def add(self, used: np.ndarray, nbytes: np.ndarray, is_read: bool, counts: tuple,
            wait_cycles: np.ndarray, busy_cycles: np.ndarray) -> None:
        """Count one transaction: channels ``used`` moved ``nbytes`` and so on.

        ``counts`` is (hits, misses, conflicts) per channel; arrays are zero
        (and waits ignored) on channels the transaction does not touch.
        """
        (self.bytes_read if is_read else self.bytes_written).__iadd__(nbytes)
        self.requests += used
        hits, misses, conflicts = counts
        self.row_hits += hits
        self.row_misses += misses
        self.row_conflicts += conflicts
        self.queue_total += np.where(used, wait_cycles, 0.0)
        np.maximum(self.queue_max, wait_cycles, out=self.queue_max, where=used)
        self.busy += busy_cycles

    def add_one(self, ch: int, nbytes: int, is_read: bool, counts: tuple,
                wait_cycles: float, busy_cycles: float) -> None:
        """``add`` for a transaction on one channel, with scalars."""
        (self.bytes_read if is_read else self.bytes_written)[ch] += nbytes
        self.requests[ch] += 1
        self.row_hits[ch] += counts[0]
        self.row_misses[ch] += counts[1]
        self.row_conflicts[ch] += counts[2]
        self.queue_total[ch] += wait_cycles
        self.queue_max[ch] = max(float(self.queue_max[ch]), wait_cycles)
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
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending_one: list[tuple[int, float, float, int]] = []
        self._pending_spans = 0

    def add(self, used: np.ndarray, start: np.ndarray, end: np.ndarray,
            nbytes: np.ndarray) -> None:
        """Record transfers of ``nbytes`` over [start, end] on the channels ``used``."""
        self._pending.append((used, start, end, nbytes))
        self._pending_spans += len(used)
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
        if self._pending_one:
            channel, start, end, nbytes = (np.array(a) for a in zip(*self._pending_one))
            used = np.zeros((len(channel), len(self.counts)), dtype=bool)
            used[np.arange(len(channel)), channel] = True
            full = lambda x: np.repeat(x, len(self.counts)).astype(float)  # noqa: E731
            self._pending.append((used.ravel(), full(start), full(end), full(nbytes)))
            self._pending_one = []
        if not self._pending:
            return
        used, start, end, nbytes = (np.concatenate(a) for a in zip(*self._pending))
        self._pending, self._pending_spans = [], 0
        channel = np.nonzero(used)[0] % len(self.counts)
        start, end, nbytes = start[used], end[used], nbytes[used]
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
        flat = channel[span] * self.counts.shape[1] + window
        self.counts += np.bincount(flat, share, self.counts.size).reshape(self.counts.shape)

    def _coarsen(self) -> None:
        pairs = self.counts.reshape(len(self.counts), -1, 2).sum(axis=2)
        self.counts[:] = 0.0
        self.counts[:, :pairs.shape[1]] = pairs
        self.window_cycles *= 2

    def rebinned(self, window_cycles: int, until_cycle: float,
                 channel: int | None = None) -> tuple[int, np.ndarray]:
        """Counts (one channel or all summed) in windows of ``window_cycles``
        rounded up to a multiple of ours."""
        self.flush()
        ours = self.counts.sum(axis=0) if channel is None else self.counts[channel]
        factor = max(1, -(-window_cycles // self.window_cycles))
        n = int(until_cycle // self.window_cycles) + 1
        n = -(-n // factor) * factor
        counts = np.zeros(n)
        used = min(n, len(ours))
        counts[:used] = ours[:used]
        return self.window_cycles * factor, counts.reshape(-1, factor).sum(axis=1)


class RefreshClock:
    """Refresh windows [k*tREFI - tRFC, k*tREFI) for k >= 1, in cycles."""

    def __init__(self, period_cycles: float, busy_cycles: float) -> None:
        self.period = period_cycles
        self.busy = busy_cycles

    def epoch(self, t: float) -> int:
        """Refreshes begun by time t (each one closes every row)."""
        return int((t + self.busy) // self.period) if self.busy > 0 else 0

    def skip(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``advance(t, 0)`` (a time inside a refresh moves to its end) and the epochs."""
        if self.busy <= 0:
            return t, np.zeros(len(t), dtype=np.int64)
        u = t + self.busy
        start = np.maximum(u, u // self.period * self.period + self.busy) - self.busy
        # the epoch of the moved time, as ``epoch`` computes it (same rounding)
        return start, ((start + self.busy) // self.period).astype(np.int64)

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
        k = u // period                        # floor division as Python's, as advance_one
        u = np.maximum(u, k * period + busy)   # a start inside a window waits for its end
        spill = work - ((k + 1) * period - u)
        if not (spill > 0).any():              # the common case: no refresh to skip
            return u + work - busy
        periods = np.maximum(np.ceil(spill / (period - busy)) - 1, 0)
        late = (k + 1) * period + busy + periods * period + spill - periods * (period - busy)
        return np.where(spill <= 0, u + work, late) - busy
