"""Bandwidth/stall analysis: demand vs supply per layer-phase, and a verdict that flips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from reports.analysis import (AnalysisError, LayerBandwidth, analyze, name_runs,
                              render_analysis)
from reports.export import results_json
from tlm.app.api import simulate
from tlm.app.cli import main


def run_dict(overrides: dict) -> dict:
    return json.loads(results_json(simulate(None, overrides)))


@pytest.fixture(scope="module")
def starved_dram() -> dict:
    """The sample on a DRAM with 0.5 GB/s per channel: DRAM-bound by construction."""
    return run_dict({"dram.peak_gbps_per_channel": 0.5})


@pytest.fixture(scope="module")
def huge_dram() -> dict:
    """Unlimited bandwidth and no latency: with fast LIF lanes the banked DRAM's access
    latency alone stalls the sample's tiny tiles, so both are removed."""
    return run_dict({"dram.peak_gbps_per_channel": 10000.0, "dram.model": "bandwidth",
                     "dram.latency_ns": 0.0})


def test_slow_dram_is_bandwidth_bound(starved_dram: dict) -> None:
    analysis = analyze(starved_dram)
    assert analysis.verdict == "bandwidth-bound"
    assert analysis.statement.startswith("The run is bandwidth-bound: the ")
    assert any(row.bound for row in analysis.layers)
    staller = max(analysis.engines, key=lambda e: e.shares["stall_memory"])
    assert analysis.engine == staller.name
    assert f"{staller.shares['stall_memory']:.0%} of its time on DRAM" in analysis.statement


def test_huge_bandwidth_flips_to_compute_bound(huge_dram: dict) -> None:
    analysis = analyze(huge_dram)
    assert analysis.verdict == "compute-bound"
    assert not any(row.bound for row in analysis.layers)
    busiest = max(analysis.engines, key=lambda e: e.shares["busy"])
    assert analysis.engine == busiest.name
    assert analysis.statement.startswith("The run is compute-bound in the ")


def test_engine_shares_sum_to_one(starved_dram: dict) -> None:
    for engine in analyze(starved_dram).engines:
        assert sum(engine.shares.values()) == pytest.approx(1.0)


def synthetic_results(moved_bytes: int, cycles: int, peak_gbps: float) -> dict:
    """A minimal results dict: one compute-heavy engine, one layer-phase."""
    engines = {"fe": {"busy": 90, "stall_memory": 5, "stall_backpressure": 0, "starved": 0,
                      "idle": 5},
               "be": {"busy": 10, "stall_memory": 0, "stall_backpressure": 0, "starved": 0,
                      "idle": 90}}
    return {"total_cycles": cycles, "config": {"clock_mhz": 1000.0},
            "dram": {"peak_gbps": peak_gbps, "achieved_gbps": 0.1, "utilization": 0.1},
            "engines": engines,
            "layers": [{"index": 0, "name": "fc1", "phase": "forward", "cycles": cycles,
                        "busy_cycles": cycles, "bytes_read": moved_bytes, "bytes_written": 0}]}


@pytest.mark.parametrize("peak_gbps, bound", [(1.25, True), (2.0, False)])
def test_demand_is_bytes_over_the_layer_phase_time(peak_gbps: float, bound: bool) -> None:
    # 1000 bytes in 1000 cycles at 1 GHz = 1 GB/s: 80% of 1.25 GB/s, 50% of 2 GB/s
    row = analyze(synthetic_results(1000, 1000, peak_gbps)).layers[0]
    assert row.demand_gbps == pytest.approx(1.0)
    assert row.demand_share == pytest.approx(1.0 / peak_gbps)
    assert row.bound is bound


def test_adjacent_layers_are_named_as_a_range() -> None:
    rows = [LayerBandwidth(i, f"conv{i}", "backward", 1, 1, 1.0, 1.0, 0.0, True)
            for i in (2, 3, 4, 6)]
    assert name_runs(rows) == "conv2–conv4, conv6"


def test_not_a_results_dict_is_an_analysis_error() -> None:
    with pytest.raises(AnalysisError, match="missing 'dram'"):
        analyze({"total_cycles": 1, "config": {}, "engines": {}, "layers": []})


def test_render_draws_the_tables_and_statement(starved_dram: dict) -> None:
    console = Console(width=100, record=True, color_system=None)
    render_analysis(starved_dram, console)
    text = console.export_text()
    assert "Bandwidth demand vs supply (DRAM peak 4 GB/s)" in text
    assert "memory stall" in text and "bandwidth-bound" in text


def test_cli_analyzes_a_saved_results_file(tmp_path: Path, huge_dram: dict,
                                           capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(huge_dram))
    assert main(["analyze", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "compute-bound"
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["analyze", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("h2learn: error: ") and "not a JSON file" in err
    assert len(err.strip().splitlines()) == 1


def test_memory_stalls_are_blamed_on_channels(starved_dram: dict) -> None:
    by_channel = starved_dram["memory_stall_by_channel"]
    for engine, cycles in by_channel.items():
        assert len(cycles) == starved_dram["dram"]["channels"]
        # tiles with no DRAM reads have no channel to blame: at most the engine's stall
        assert 0 < sum(cycles) <= starved_dram["engines"][engine]["stall_memory"]
    shares = analyze(starved_dram).channel_shares
    assert shares and all(sum(v) == pytest.approx(1.0) for v in shares.values())
    out = Console(width=80, record=True, color_system=None)
    render_analysis(starved_dram, out)
    assert "DRAM stalls by channel" in out.export_text()


def test_one_channel_takes_all_the_blame() -> None:
    results = run_dict({"dram.channels": 1, "dram.peak_gbps_per_channel": 1.0})
    assert all(v == [1.0] for v in analyze(results).channel_shares.values())
