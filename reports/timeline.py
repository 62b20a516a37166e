"""Chrome Trace Event timeline of a run (opens in ui.perfetto.dev or chrome://tracing).

Built from the flat ``Slice`` records the collector kept: one thread per
engine and per DMA (loader ``*.load``, storer ``*.store``) under an
"H2Learn" process, one complete event ("ph": "X") per slice, and a "DRAM"
process with two counter tracks ("ph": "C"): achieved bandwidth and the mean
number of DMA transfers in flight (reads and writes issued but not finished —
the queue the DRAM works through). Iterations are laid end to end; an
"iterations" thread marks each one. Times are microseconds, converted from
cycles with the clock.

Size is bounded: past ``max_slices`` records, consecutive slices of the same
track, kind, phase and layer are merged into one event (args say how many and
which timesteps), and ``otherData.aggregated`` says so.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from tlm.stats import Slice
from tlm.record import IterationRun
from tlm.topology import ENGINE_NAMES

MAX_SLICES = 1_000_000
COUNTER_POINTS = 1000        # counter samples per iteration
H2LEARN_PID, DRAM_PID = 1, 2


@dataclass(frozen=True)
class Span:
    """One event to draw: a slice, or several consecutive ones merged."""

    track: str
    kind: str
    phase: str
    layer: int
    first_timestep: int
    last_timestep: int
    start: int
    end: int
    length_bytes: int
    merged: int = 1


def as_span(s: Slice, offset: int) -> Span:
    return Span(s.track, s.kind, s.phase, s.layer, s.timestep, s.timestep, offset + s.start,
                offset + s.end, s.length_bytes)


def merge_consecutive(spans: Iterable[Span]) -> list[Span]:
    """Merge runs of spans on one track that share kind, phase and layer."""
    last: dict[str, Span] = {}
    done: list[Span] = []
    for span in spans:
        prev = last.get(span.track)
        if prev and (prev.kind, prev.phase, prev.layer) == (span.kind, span.phase, span.layer):
            last[span.track] = Span(prev.track, prev.kind, prev.phase, prev.layer,
                                    min(prev.first_timestep, span.first_timestep),
                                    max(prev.last_timestep, span.last_timestep), prev.start,
                                    max(prev.end, span.end), prev.length_bytes + span.length_bytes,
                                    prev.merged + span.merged)
            continue
        if prev:
            done.append(prev)
        last[span.track] = span
    return done + list(last.values())


def collect_spans(runs: Sequence[IterationRun], max_slices: int) -> tuple[list[Span], bool]:
    """All slices shifted to their iteration's offset; merged when there are too many."""
    spans, offset = [], 0
    for run in runs:
        spans.extend(as_span(s, offset) for s in run.slices)
        offset += run.total_cycles
    if len(spans) <= max_slices:
        return spans, False
    return merge_consecutive(spans), True


def track_sort_key(track: str) -> tuple[int, int, str]:
    engine, _, role = track.partition(".")
    rank = ENGINE_NAMES.index(engine) if engine in ENGINE_NAMES else len(ENGINE_NAMES)
    return rank, {"": 1, "load": 0, "store": 2}.get(role, 3), track


def metadata_events(tracks: list[str]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Process and thread names, and the thread id of each track."""
    tids = {track: i + 2 for i, track in enumerate(sorted(tracks, key=track_sort_key))}
    tids["iterations"] = 1
    events: list[dict[str, Any]] = [
        {"ph": "M", "pid": H2LEARN_PID, "name": "process_name", "args": {"name": "H2Learn"}},
        {"ph": "M", "pid": DRAM_PID, "name": "process_name", "args": {"name": "DRAM"}}]
    for track, tid in tids.items():
        events.append({"ph": "M", "pid": H2LEARN_PID, "tid": tid, "name": "thread_name",
                       "args": {"name": track}})
        events.append({"ph": "M", "pid": H2LEARN_PID, "tid": tid, "name": "thread_sort_index",
                       "args": {"sort_index": tid}})
    return events, tids


def span_event(span: Span, tid: int, us_per_cycle: float) -> dict[str, Any]:
    args: dict[str, Any] = {"layer": span.layer, "phase": span.phase, "bytes": span.length_bytes}
    if span.merged > 1:
        args.update(merged_slices=span.merged,
                    timesteps=f"{span.first_timestep}-{span.last_timestep}")
    else:
        args["timestep"] = span.first_timestep
    name = f"{span.kind} L{span.layer}" + ("" if span.merged == 1 else f" ×{span.merged}")
    return {"name": name, "cat": span.phase, "ph": "X", "pid": H2LEARN_PID, "tid": tid,
            "ts": span.start * us_per_cycle, "dur": (span.end - span.start) * us_per_cycle,
            "args": args}


def iteration_events(runs: Sequence[IterationRun], us_per_cycle: float) -> list[dict[str, Any]]:
    events, offset = [], 0
    for i, run in enumerate(runs):
        events.append({"name": f"iteration {i}", "ph": "X", "pid": H2LEARN_PID, "tid": 1,
                       "ts": offset * us_per_cycle, "dur": run.total_cycles * us_per_cycle,
                       "args": {"cycles": run.total_cycles}})
        offset += run.total_cycles
    return events


class InFlight:
    """Transfers in flight over time, from the read/write spans (sorted once)."""

    def __init__(self, spans: list[Span]) -> None:
        transfers = [s for s in spans if s.kind in ("read", "write")]
        self.starts = np.sort(np.array([s.start for s in transfers], dtype=float))
        self.ends = np.sort(np.array([s.end for s in transfers], dtype=float))

    @staticmethod
    def _ramp(points: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Σ over points p < t of (t - p), for every t at once."""
        cum = np.concatenate([[0.0], np.cumsum(points)])
        n = np.searchsorted(points, t, side="left")
        return n * t - cum[n]

    def window_means(self, edges: np.ndarray) -> np.ndarray:
        """Time-weighted mean count in flight within each [edge_i, edge_i+1)."""
        t = edges.astype(float)
        # Σ_s clip(t - start, 0, length): the ramp of the starts minus that of the ends
        integral = self._ramp(self.starts, t) - self._ramp(self.ends, t)
        return np.diff(integral) / np.maximum(np.diff(t), 1.0)


def counter_events(runs: Sequence[IterationRun], spans: list[Span],
                   us_per_cycle: float) -> list[dict[str, Any]]:
    """DRAM bandwidth and transfers-in-flight counters, one sample per window."""
    in_flight = InFlight(spans)
    events, offset = [], 0
    for run in runs:
        window = max(1, -(-run.total_cycles // COUNTER_POINTS))
        points = run.dram.bandwidth_windows(window)
        edges = np.array([offset + start for start, _ in points] + [offset + run.total_cycles])
        edges = np.maximum.accumulate(edges)  # the last window may reach past the end
        for (start, gbps), queued in zip(points, in_flight.window_means(edges)):
            ts = (offset + start) * us_per_cycle
            events.append({"name": "DRAM bandwidth", "ph": "C", "pid": DRAM_PID, "ts": ts,
                           "args": {"GB/s": round(gbps, 3)}})
            events.append({"name": "DRAM transfers in flight", "ph": "C", "pid": DRAM_PID,
                           "ts": ts, "args": {"transfers": round(float(queued), 3)}})
        offset += run.total_cycles
    return events


def timeline_events(runs: Sequence[IterationRun], clock_mhz: float,
                    max_slices: int = MAX_SLICES) -> dict[str, Any]:
    """The Chrome Trace Event document (JSON object format) for the runs."""
    us_per_cycle = 1.0 / clock_mhz
    spans, aggregated = collect_spans(runs, max_slices)
    # every component gets a track, even one that had nothing to do in this network
    tracks = {s.track for s in spans} | {name for run in runs for name in run.activity}
    events, tids = metadata_events(sorted(tracks))
    events += iteration_events(runs, us_per_cycle)
    events += [span_event(s, tids[s.track], us_per_cycle) for s in spans]
    events += counter_events(runs, spans, us_per_cycle)
    slices = sum(len(run.slices) for run in runs)
    note = (f"{slices} slices exceed {max_slices}: consecutive slices of one track, kind, "
            "phase and layer were merged" if aggregated else "one event per slice")
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"producer": "h2learn-tlm", "clock_mhz": clock_mhz,
                          "iterations": len(runs), "slices": slices, "events": len(spans),
                          "aggregated": aggregated, "note": note}}


def timeline_bytes(runs: Sequence[IterationRun], path: str, clock_mhz: float,
                   max_slices: int = MAX_SLICES) -> bytes:
    """The timeline file's bytes: JSON, gzip-compressed when ``path`` ends with .gz."""
    data = json.dumps(timeline_events(runs, clock_mhz, max_slices),
                      separators=(",", ":")).encode()
    return gzip.compress(data, mtime=0) if str(path).endswith(".gz") else data
