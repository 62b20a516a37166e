"""Sweeps: grid expansion, point keys, resume, failed points, the views, local and Dask runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tlm.app.sweep_view import bar_text, render_sweep, sweep_view
from tlm.app.cli import main
from tlm.app.sweep import (SweepError, SweepPoint, SweepSpec, add_dimension, expand,
                       load_sweep_file, parse_grid_option, point_record, run_sweep)

GRID_24 = ["--grid", "dram.preset=hbm2,ddr4-3200", "--grid", "fe.lut_k=2,4,8",
           "--grid", "pipeline.mode=serial,overlap"]


def spec_of(*options: str, traces: list | None = None) -> SweepSpec:
    spec = SweepSpec(traces=traces or [None])
    for option in options:
        add_dimension(spec.grid, *parse_grid_option(option))
    return spec


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_expansion_is_the_ordered_cartesian_product() -> None:
    points = expand(spec_of("fe.lut_k=2,4,4", "pipeline.mode=serial,overlap",
                            traces=["a.h5", "b.h5"]))
    assert [(p.trace, p.grid["fe.lut_k"], p.grid["pipeline.mode"]) for p in points][:3] == [
        (str(Path("a.h5").resolve()), "2", "serial"), (str(Path("a.h5").resolve()), "2", "overlap"),
        (str(Path("a.h5").resolve()), "4", "serial")]
    assert len(points) == 2 * 2 * 2 and [p.index for p in points] == list(range(8))
    assert len({p.key for p in points}) == 8
    assert [p.key for p in points] == [p.key for p in expand(spec_of(
        "fe.lut_k=2,4", "pipeline.mode=serial,overlap", traces=["a.h5", "b.h5"]))]


def test_a_point_is_its_resolved_configuration() -> None:
    by_grid = expand(spec_of("fe.lut_k=4"))[0]
    default = expand(SweepSpec())[0]
    assert by_grid.key == default.key            # 4 is the default: the same point
    assert expand(spec_of("fe.lut_k=8"))[0].key != default.key


@pytest.mark.parametrize("option, message", [
    ("fe.lutk=2,4", "unknown key"), ("fe.lut_k=2,,4", "non-empty"), ("fe.lut_k", "key=value")])
def test_bad_grid_options_are_sweep_errors(option: str, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        spec_of(option)


def test_sweep_file_grid_set_and_traces(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        'traces = ["t.h5"]\n[grid]\n"dram.preset" = ["hbm2", "ddr4-3200"]\n'
        '[grid.fe]\nskip_zero_patterns = [true, false]\n[set]\n"pipeline.mode" = "serial"\n')
    spec = load_sweep_file(tmp_path / "s.toml")
    assert spec.grid == {"dram.preset": ["hbm2", "ddr4-3200"],
                         "fe.skip_zero_patterns": ["true", "false"]}
    assert spec.base == ["pipeline.mode=serial"]
    assert spec.traces == [str(tmp_path / "t.h5")]
    (tmp_path / "bad.toml").write_text("[grids]\n")
    with pytest.raises(SweepError, match="unknown entry 'grids'"):
        load_sweep_file(tmp_path / "bad.toml")


def fake_runner(calls: list[str]):
    """Counts executions; the 'metric' is the LUT width so ranking is checkable."""
    def run(point: SweepPoint) -> dict:
        calls.append(point.key)
        k = int(point.grid["fe.lut_k"])
        results = {"total_cycles": 100 * k, "seconds": 1e-6 * k, "speedup": 10.0 / k,
                   "energy_pj": {"total": 1.0}, "energy_saving": 1.0, "area_mm2": {"total": 1.0},
                   "area_saving": 1.0, "dram": {"achieved_gbps": 1.0, "utilization": 0.5},
                   "engines": {e: {"busy": 1, "stall_memory": 1} for e in ("fe", "lif", "be",
                                                                             "wue")}}
        return point_record(point, "ok", None, results, 0.0)
    return run


def test_resume_runs_only_missing_points(tmp_path: Path) -> None:
    spec = spec_of("fe.lut_k=1,2,3,4,5,6")
    calls: list[str] = []
    run_sweep(spec, tmp_path, runner=fake_runner(calls))
    assert len(calls) == 6
    journal = tmp_path / "points.jsonl"
    kept = journal.read_text().splitlines()[:2]
    journal.write_text("\n".join(kept) + '\n{"key": "torn')  # killed mid-write
    calls.clear()
    outcome = run_sweep(spec, tmp_path, runner=fake_runner(calls))
    assert len(calls) == 4 and outcome.resumed == 2
    assert sorted(r["index"] for r in lines_ok(journal)) == list(range(6))
    calls.clear()
    run_sweep(spec, tmp_path, runner=fake_runner(calls), resume=False)
    assert len(calls) == 6


def lines_ok(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def test_view_ranks_by_metric_and_plots_a_one_dimensional_sweep(tmp_path: Path) -> None:
    spec = spec_of("fe.lut_k=1,2,4")
    outcome = run_sweep(spec, tmp_path, runner=fake_runner([]))
    view = sweep_view(outcome.records, list(spec.grid), spec.dimensions(), "speedup")
    assert [row.grid["fe.lut_k"] for row in view.rows] == ["1", "2", "4"]   # higher first
    assert [bar.fraction for bar in view.plots[0].bars] == pytest.approx([1.0, 0.5, 0.25])
    assert bar_text(0.5, width=4) == "██" and bar_text(0.0625, width=4) == "▎"
    console = Console(width=100, record=True, color_system=None)
    render_sweep(view, console, "Sweep")
    text = console.export_text()
    assert "speedup vs fe.lut_k (sample)" in text and "█" * 40 in text
    csv_lines = (tmp_path / "points.csv").read_text().splitlines()
    assert csv_lines[0].startswith("index,key,trace,fe.lut_k,status,error,total_cycles")
    assert len(csv_lines) == 4


def test_failed_points_are_reported_and_do_not_stop_the_sweep(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["sweep", "--grid", "fe.lut_k=4,99", "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "failed (sample fe.lut_k=99): fe.lut_k: 99, expected 1..12" in text
    assert "2 points: 1 ok, 1 failed" in text
    assert [r["status"] for r in sorted(lines(out / "points.jsonl"),
                                        key=lambda r: r["index"])] == ["ok", "failed"]


def test_bad_sweep_input_is_one_line_and_exit_2(tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "o")]) == 2
    assert main(["sweep", "--grid", "nope=1", "--out", str(tmp_path / "o")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("h2learn: error: ") for e in errors)


def test_scheduler_without_dask_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed -> ImportError
    assert main(["sweep", "--scheduler", "tcp://127.0.0.1:8786",
                 "--out", str(tmp_path / "o")]) == 2
    assert "pip install '.[cluster]'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def two_traces(trace_factory) -> list[str]:
    return [str(trace_factory("cnn", workload="tiny-cnn", batch=2, timesteps=2)),
            str(trace_factory("mlp", workload="tiny-mlp", batch=2, timesteps=2))]


def comparable(record: dict) -> dict:
    """A record without what legitimately differs between runs (wall times)."""
    results = {k: v for k, v in record["results"].items() if k != "simulator"}
    return {"key": record["key"], "status": record["status"], "results": results}


def test_24_point_sweep_on_two_processes_resumes_after_interruption(
        tmp_path: Path, two_traces: list[str], capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", *two_traces, *GRID_24, "--jobs", "2", "--out", str(out)]
    assert main(args) == 0
    first = {r["key"]: r for r in lines(out / "points.jsonl")}
    assert len(first) == 24 and all(r["status"] == "ok" for r in first.values())
    text = capsys.readouterr().out
    assert "Sweep ranked by total_cycles" in text and "24 points: 24 ok" in text
    assert len((out / "points.csv").read_text().splitlines()) == 25
    # interrupted after 10 points, the 11th torn mid-write
    raw = (out / "points.jsonl").read_text().splitlines()
    (out / "points.jsonl").write_text("\n".join(raw[:10]) + "\n" + raw[10][:50])
    assert main(args) == 0
    assert "14 run, 10 resumed" in capsys.readouterr().out
    again = lines_ok(out / "points.jsonl")
    assert len(again) == 24                  # 10 kept + 14 re-run, nothing twice
    assert {r["key"]: comparable(r) for r in again} == {
        k: comparable(r) for k, r in first.items()}


def test_dask_cluster_gives_the_local_results(tmp_path: Path, two_traces: list[str]) -> None:
    distributed = pytest.importorskip("distributed")
    spec = spec_of("fe.lut_k=2,8", "pipeline.mode=serial,overlap", traces=two_traces[:1])
    local = run_sweep(spec, tmp_path / "local")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert [r["key"] for r in remote.records] == [r["key"] for r in local.records]
    for mine, theirs in zip(local.records, remote.records):
        a, b = comparable(mine)["results"], comparable(theirs)["results"]
        assert theirs["status"] == "ok" and a == b, (
            f"point {mine['grid']}: fields differ: {sorted(k for k in a if a[k] != b.get(k))}")
    assert len(lines(tmp_path / "dask" / "points.jsonl")) == 4


def test_trace_paths_are_absolute_before_dispatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  trace_factory) -> None:
    """A worker in another directory (a Dask worker elsewhere) opens the same file."""
    from conftest import write_trace
    from tlm.app.sweep import run_point
    write_trace(tmp_path / "rel.h5", "tiny-mlp", batch=2, timesteps=2)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path)
    spec = spec_of("fe.lut_k=2,4", traces=["rel.h5"])

    def worker_elsewhere(point: SweepPoint) -> dict:
        os.chdir(elsewhere)
        try:
            return run_point(point)
        finally:
            os.chdir(tmp_path)
    outcome = run_sweep(spec, tmp_path / "out", runner=worker_elsewhere)
    assert [r["status"] for r in outcome.records] == ["ok", "ok"], outcome.failed
    assert all(r["trace_path"] == str(tmp_path / "rel.h5") for r in outcome.records)


def test_a_trace_regenerated_in_place_makes_its_points_stale(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from conftest import write_trace
    trace = write_trace(tmp_path / "t.h5", "tiny-mlp", batch=2, timesteps=2, seed=1)
    args = ["sweep", str(trace), "--grid", "fe.lut_k=2,4", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    first = {r["grid"]["fe.lut_k"]: r for r in lines(tmp_path / "o" / "points.jsonl")}
    capsys.readouterr()
    write_trace(trace, "tiny-mlp", batch=4, timesteps=3, seed=2)     # same path, new content
    assert main(args) == 0
    said = " ".join(capsys.readouterr().out.split())   # the summary wraps at 80 columns
    assert "2 run (2 of them stale: trace content or tool changed), 0 resumed" in said
    fresh = run_sweep(spec_of("fe.lut_k=2,4", traces=[str(trace)]), tmp_path / "fresh")
    latest = {r["grid"]["fe.lut_k"]: r for r in lines(tmp_path / "o" / "points.jsonl")[2:]}
    for k, record in latest.items():
        assert record["metrics"] == fresh.records[["2", "4"].index(k)]["metrics"]
        assert record["trace_content_sha256"] != first[k]["trace_content_sha256"]
        assert record["slot"] == first[k]["slot"] and record["key"] != first[k]["key"]


def test_records_carry_producer_trace_hashes_and_effective_config(tmp_path: Path,
                                                                   two_traces: list[str]) -> None:
    from traces.identity import content_sha256, file_sha256
    outcome = run_sweep(spec_of("fe.lut_k=2", traces=two_traces[:1]), tmp_path)
    record = outcome.records[0]
    assert record["producer"]["name"] == "h2learn-tlm" and record["producer"]["version"]
    assert record["trace_sha256"] == file_sha256(two_traces[0])
    assert record["trace_content_sha256"] == content_sha256(two_traces[0])
    assert record["config"]["fe.lut_k"] == 2 and "dram.preset" in record["config"]


def test_a_journal_from_before_content_keys_is_stale_not_resumed(tmp_path: Path) -> None:
    spec = spec_of("fe.lut_k=2,4")
    point = expand(spec)[0]
    old = {**fake_runner([])(point), "key": point.slot}  # a finished point, keyed the old way
    del old["slot"]
    (tmp_path / "points.jsonl").write_text(json.dumps(old) + "\n")
    calls: list[str] = []
    outcome = run_sweep(spec, tmp_path, runner=fake_runner(calls))
    assert len(calls) == 2 and outcome.resumed == 0 and outcome.stale == 1


def test_an_out_folder_that_cannot_be_written_and_a_binary_sweep_file_are_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", "--grid", "fe.lut_k=2,4", "--out", "/proc/h2learn-sweep"]) == 2
    assert "cannot write there" in capsys.readouterr().err
    binary = tmp_path / "sweep.toml"
    binary.write_bytes(bytes(range(256)))
    assert main(["sweep", "--sweep-file", str(binary), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not UTF-8" in err


def test_a_sweep_says_which_files_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "s"
    assert main(["sweep", "--grid", "fe.lut_k=2,4", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    for name in ("points.jsonl", "points.csv"):
        assert f"wrote {out / name} (" in err


def test_a_recording_sweeps_by_replay_with_the_trace_sweeps_results(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A recording is a sweep input: its points replay the stream, so memory-system keys
    give exactly the full simulation's results, and a key that would change the stream
    fails its point with replay's one line while the others run."""
    from traces.sample import sample_trace_path
    recording = tmp_path / "sample.stream.h5"
    assert main(["run", "--record", str(recording)]) == 0
    grid = ["--grid", "dram.preset=hbm2,ddr4-3200", "--grid", "pipeline.mode=serial,overlap"]
    assert main(["sweep", str(sample_trace_path()), *grid, "--out", str(tmp_path / "t")]) == 0
    assert main(["sweep", str(recording), *grid, "--out", str(tmp_path / "r")]) == 0
    unsimulated = ("simulator", "provenance", "producer", "trace")

    def by_grid(folder: str) -> dict:
        return {json.dumps(r["grid"], sort_keys=True):
                {k: v for k, v in r["results"].items() if k not in unsimulated}
                for r in lines(tmp_path / folder / "points.jsonl")}
    assert by_grid("t") == by_grid("r") and len(by_grid("r")) == 4
    records = lines(tmp_path / "r" / "points.jsonl")
    assert all(r["config"]["dram.preset"] == r["grid"]["dram.preset"] for r in records)
    assert main(["sweep", str(recording), "--grid", "fe.lut_k=4,8",
                 "--out", str(tmp_path / "k")]) == 1
    status = {r["grid"]["fe.lut_k"]: (r["status"], r["error"])
              for r in lines(tmp_path / "k" / "points.jsonl")}
    assert status["4"] == ("ok", None)
    assert status["8"][0] == "failed" and "fe.lut_k" in status["8"][1]
