"""The Chrome Trace Event timeline: valid JSON, the expected tracks, µs times, bounded size."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from typing import Any

import numpy as np
import pytest

from reports.timeline import InFlight, Span, merge_consecutive, timeline_bytes
from tlm.app.api import load_trace, run_iterations
from tlm.config import SystemConfig
from tlm.system import IterationRun

CLOCK_MHZ = SystemConfig().clock_mhz


@pytest.fixture(scope="module")
def runs() -> list[IterationRun]:
    with load_trace() as reader:  # the embedded sample trace: two iterations
        return run_iterations(reader, SystemConfig())


@pytest.fixture(scope="module")
def trace(runs: list[IterationRun]) -> dict[str, Any]:
    return json.loads(timeline_bytes(runs, "t.json", CLOCK_MHZ))


def thread_names(trace: dict[str, Any]) -> dict[int, str]:
    return {e["tid"]: e["args"]["name"] for e in trace["traceEvents"]
            if e["ph"] == "M" and e["name"] == "thread_name"}


def test_tracks_for_every_engine_and_dma(trace: dict[str, Any]) -> None:
    names = set(thread_names(trace).values())
    for engine in ("fe", "lif", "be", "wue"):
        assert {engine, f"{engine}.load", f"{engine}.store"} <= names
    counters = {e["name"] for e in trace["traceEvents"] if e["ph"] == "C"}
    assert counters == {"DRAM bandwidth", "DRAM transfers in flight"}
    processes = {e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "process_name"}
    assert processes == {"H2Learn", "DRAM"}


def test_one_complete_event_per_slice_in_microseconds(runs: list[IterationRun],
                                                      trace: dict[str, Any]) -> None:
    names = thread_names(trace)
    events = [e for e in trace["traceEvents"] if e["ph"] == "X" and names[e["tid"]] != "iterations"]
    assert len(events) == sum(len(run.slices) for run in runs)
    assert not trace["otherData"]["aggregated"]
    first = runs[0].slices[0]
    event = next(e for e in events if names[e["tid"]] == first.track)
    assert event["ts"] == pytest.approx(first.start / CLOCK_MHZ)
    assert event["dur"] == pytest.approx((first.end - first.start) / CLOCK_MHZ)
    assert set(event["args"]) == {"layer", "timestep", "phase", "bytes"}
    moved = Counter()
    for e in events:
        moved[names[e["tid"]]] += e["args"]["bytes"]
    expected = Counter()
    for run in runs:
        for s in run.slices:
            expected[s.track] += s.length_bytes
    assert moved == expected


def test_iterations_laid_end_to_end(runs: list[IterationRun], trace: dict[str, Any]) -> None:
    names = thread_names(trace)
    marks = [e for e in trace["traceEvents"] if e["ph"] == "X" and names[e["tid"]] == "iterations"]
    assert [m["ts"] for m in marks] == pytest.approx([0.0, runs[0].total_cycles / CLOCK_MHZ])
    end = max(e["ts"] + e["dur"] for e in trace["traceEvents"] if e["ph"] == "X")
    assert end == pytest.approx(sum(r.total_cycles for r in runs) / CLOCK_MHZ)
    second = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["ts"] >= marks[1]["ts"]]
    assert len(second) > len(runs[1].slices) // 2


def test_clock_scales_the_time_axis(runs: list[IterationRun], trace: dict[str, Any]) -> None:
    slower = json.loads(timeline_bytes(runs, "t.json", CLOCK_MHZ / 2))
    ends = [max(e["ts"] + e.get("dur", 0) for e in t["traceEvents"] if e["ph"] != "M")
            for t in (trace, slower)]
    assert ends[1] == pytest.approx(2 * ends[0])


def test_gzip_when_the_path_says_so(runs: list[IterationRun], trace: dict[str, Any]) -> None:
    packed = timeline_bytes(runs, "out.json.gz", CLOCK_MHZ)
    assert packed[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(packed)) == trace


def test_many_slices_are_merged_and_flagged(runs: list[IterationRun]) -> None:
    small = json.loads(timeline_bytes(runs, "t.json", CLOCK_MHZ, max_slices=50))
    info = small["otherData"]
    assert info["aggregated"] and info["events"] < info["slices"] and "merged" in info["note"]
    merged = [e for e in small["traceEvents"] if e["ph"] == "X" and "merged_slices" in e["args"]]
    assert merged and all(e["args"]["merged_slices"] > 1 for e in merged)
    total = sum(e["args"]["bytes"] for e in small["traceEvents"]
                if e["ph"] == "X" and "bytes" in e["args"])
    assert total == sum(s.length_bytes for r in runs for s in r.slices)


def span(track: str, layer: int, start: int, end: int, kind: str = "read") -> Span:
    return Span(track, kind, "forward", layer, 0, 0, start, end, 10)


def test_merge_keeps_tracks_and_layers_apart() -> None:
    merged = merge_consecutive([span("a", 0, 0, 5), span("b", 0, 1, 2), span("a", 0, 5, 9),
                                span("a", 1, 9, 12)])
    assert sorted((m.track, m.layer, m.start, m.end, m.merged) for m in merged) == [
        ("a", 0, 0, 9, 2), ("a", 1, 9, 12, 1), ("b", 0, 1, 2, 1)]


def test_in_flight_is_the_time_weighted_count() -> None:
    flight = InFlight([span("a", 0, 0, 10), span("b", 0, 5, 15),
                       span("c", 0, 0, 20, kind="compute")])
    means = flight.window_means(np.array([0, 5, 10, 15, 20]))
    assert means.tolist() == pytest.approx([1.0, 2.0, 1.0, 0.0])
