"""Headline validation: pass/fail logic, ratios read off the models, recipes, the command."""

from __future__ import annotations

import dataclasses

import pytest

from tlm.app.cli import main
from tlm.config import config_from_dict
from tlm.app.validate import (Check, Targets, Validation, WorkloadResult, check_targets,
                          finish_sweep, run_validation, speedup_span, SweepPoint)
from traces.recipes import Recipe, cached_path, ensure_trace, read_provenance

TINY = dict(batch=2, timesteps=2, train_batch=2, train_iterations=1)


def _row(name: str, speedup: float, energy_saving: float, area_saving: float = 7.38) -> WorkloadResult:
    return WorkloadResult(name, 100, 20, 1e-3, speedup * 1e-3, 1.0, 0.1, energy_saving,
                          110.0, speedup, energy_saving, 10 * energy_saving, area_saving, 0.0)


def _failed(checks: list[Check]) -> list[str]:
    return [c.name for c in checks if not c.passed]


# ----------------------------------------------------------- pass/fail logic
def test_rows_inside_every_band_pass():
    rows = [_row("a", 5.8, 5.3), _row("b", 7.5, 6.2), _row("c", 10.1, 7.1)]
    assert _failed(check_targets(rows)) == []


@pytest.mark.parametrize("rows, failing", [
    ([_row("a", 4.9, 4.6), _row("b", 10.0, 7.0)], "a speedup"),
    ([_row("a", 5.8, 5.3), _row("b", 11.6, 7.0)], "b speedup"),
    ([_row("a", 5.8, 4.4), _row("b", 10.0, 7.0)], "a energy saving"),
    ([_row("a", 5.8, 5.3), _row("b", 10.0, 8.1)], "b energy saving"),
    ([_row("a", 5.8, 6.5), _row("b", 10.0, 7.0)], "a energy saving / speedup"),
    ([_row("a", 7.0, 6.0), _row("b", 7.5, 6.5)], "speedups span the paper's range"),
    ([_row("a", 5.8, 5.3, 6.6), _row("b", 10.0, 7.0, 6.6)], "area saving"),
])
def test_each_band_can_fail(rows, failing):
    assert _failed(check_targets(rows)) == [failing]


def test_span_is_the_covered_fraction_of_the_paper_range():
    t = Targets()
    assert speedup_span([_row("a", 5.74, 5), _row("b", 10.2, 7)], t) == pytest.approx(1.0)
    assert speedup_span([_row("a", 4.0, 5), _row("b", 7.97, 7)], t) == pytest.approx(0.5)
    assert speedup_span([_row("a", 11.0, 5)], t) == 0.0


def test_validation_passes_only_when_every_check_passes():
    ok, bad = Check("x", True, "", ""), Check("y", False, "", "")
    assert Validation([], [ok]).passed and not Validation([], [ok, bad]).passed


def test_the_checks_table_is_one_line_per_check_at_80_columns():
    from rich.console import Console
    from tlm.app.plausibility import plausibility_checks
    from tlm.app.validate_view import checks_table
    names = ["mnist-cnn", "nmnist-cnn", "cifar10-cifarnet", "dvsgesture-cnn"]
    rows = [_row(n, 38.8, 497.5) for n in names]
    checks = plausibility_checks(rows, {}) + check_targets(rows)
    console = Console(width=80, record=True, force_terminal=False)
    console.print(checks_table(checks, names))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    for c in checks:   # measured and target on the check's own line, never wrapped
        assert any(c.measured in line and c.target in line for line in lines), c.name
    for name in names:  # each workload named once, as its section's header
        assert sum(line.strip() == name for line in lines) == 1
    assert len([l for l in lines if l.strip()]) <= len(checks) + len(names) + 4


def test_knee_is_where_the_next_step_stops_paying():
    base = _row("a", 5.0, 5.0)
    points = [SweepPoint("a", "DRAM GB/s", gbps, dataclasses.replace(base, seconds=s), 0.5,
                         "bandwidth", 0.0)
              for gbps, s in ((32, 8.0), (64, 4.0), (128, 3.0), (256, 2.95), (512, 2.9))]
    sweep = finish_sweep("a", "DRAM GB/s", points)
    assert sweep.knee == 128 and sweep.fastest == 512
    assert sweep.points[-1].relative_speed == 1.0
    assert sweep.points[0].relative_speed == pytest.approx(2.9 / 8.0)


# ------------------------------------------------------------------- recipes
def test_recipe_key_is_stable_and_depends_on_every_field():
    a = Recipe("mnist-cnn", **TINY)
    assert a.key() == Recipe("mnist-cnn", **TINY).key()
    assert a.key() != dataclasses.replace(a, lr=0.01).key()
    assert a.key() != dataclasses.replace(a, batch=3).key()


def test_bad_recipe_is_refused():
    with pytest.raises(KeyError, match="unknown workload"):
        Recipe("no-such-net")
    with pytest.raises(ValueError, match="source"):
        Recipe("mnist-cnn", source="camera")


@pytest.fixture(scope="module")
def tiny_trace(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    recipe = Recipe("mnist-cnn", **TINY)
    return ensure_trace(recipe, cache), recipe, cache


def test_ensure_trace_makes_once_and_records_provenance(tiny_trace):
    path, recipe, cache = tiny_trace
    assert path == cached_path(recipe, cache) and path.exists()
    stamp = path.stat().st_mtime_ns
    assert ensure_trace(recipe, cache) == path and path.stat().st_mtime_ns == stamp
    prov = read_provenance(path)
    assert prov["recorded_iteration"] == TINY["train_iterations"]
    assert len(prov["history"]) == TINY["train_iterations"] + 1
    assert 0 < prov["densities"]["conv1"]["firing_rate"] < 1


def test_synthetic_recipe_uses_the_trained_densities(tmp_path):
    recipe = Recipe("mnist-cnn", source="synthetic", **TINY)
    prov = read_provenance(ensure_trace(recipe, tmp_path))
    assert set(prov["densities"]) == {"conv1", "avgpool1", "conv2", "avgpool2", "fc1", "fc2"}


# ------------------------------------------------ ratios come from the models
def test_ratios_follow_the_dram_and_pe_parameters(tiny_trace):
    path = {"mnist-cnn": tiny_trace[0]}
    base = run_validation(path, config_from_dict({})).rows[0]
    slow_dram = run_validation(path, {"dram.peak_gbps_per_channel": 1.0}).rows[0]
    few_pes = run_validation(path, {"fe.pes": 16, "be.lanes": 16, "wue.pes": 16}).rows[0]
    assert slow_dram.speedup < base.speedup
    assert few_pes.speedup < base.speedup and few_pes.area_saving > base.area_saving
    assert base.speedup == pytest.approx(base.gpu_seconds / base.seconds)


def test_default_energy_has_no_calibration_component(tiny_trace):
    row = run_validation({"mnist-cnn": tiny_trace[0]}).rows[0]
    assert row.energy_j == pytest.approx(row.modelled_energy_j)


def test_calibration_power_is_the_only_gap_between_modelled_and_reported_energy(tiny_trace):
    path = {"mnist-cnn": tiny_trace[0]}
    off = run_validation(path, {"energy.calibration_power_w": 0.0}).rows[0]
    on = run_validation(path, {"energy.calibration_power_w": 100.0}).rows[0]
    assert off.energy_saving == pytest.approx(off.modelled_energy_saving)
    assert on.modelled_energy_j == pytest.approx(off.modelled_energy_j)
    assert on.energy_j == pytest.approx(off.energy_j + 100.0 * on.seconds)


# ------------------------------------------------------------------- command
def _validate(tmp_path, *extra: str) -> int:
    return main(["validate", "--workloads", "mnist-cnn", "--batch", "2", "--timesteps", "2",
                 "--train-iterations", "1", "--cache", str(tmp_path), *extra])


def _check_row(out: str, workload: str, label: str) -> str:
    """The checks table's row of ``label`` in ``workload``'s section (named once, above it)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == workload)
    section = lines[start + 1:next((i for i in range(start + 1, len(lines))
                                    if not lines[i].strip()), len(lines))]
    return next(line for line in section if line.split(maxsplit=1)[-1].startswith(label))


def test_command_exits_nonzero_when_a_check_fails(tmp_path, capsys):
    # 200 W of calibration power on a ~100 mm² die: 2 W/mm², four times the plausible density
    assert _validate(tmp_path, "--set", "energy.calibration_power_w=200") == 1
    assert "FAIL" in _check_row(capsys.readouterr().out, "mnist-cnn", "power density")


def test_command_exits_nonzero_when_the_paper_bands_are_asked_for_and_missed(tmp_path, capsys):
    assert _validate(tmp_path, "--against-paper", "--no-ablations") == 1  # batch 2: far outside
    assert "FAIL" in _check_row(capsys.readouterr().out, "mnist-cnn", "speedup")


def test_command_exits_zero_when_every_check_passes(tmp_path, monkeypatch, capsys):
    import tlm.app.commands.validate as command

    passing = Validation([_row("mnist-cnn", 7.0, 6.0)], [Check("x", True, "1", "1")])
    monkeypatch.setattr(command, "run_validation", lambda *a, **k: passing)
    assert _validate(tmp_path, "--no-ablations") == 0
    assert "all checks pass" in capsys.readouterr().out


def test_json_carries_predictions_hashes_effective_config_and_ablations(tmp_path, capsys):
    import json
    _validate(tmp_path, "--json")
    report = json.loads(capsys.readouterr().out)
    workload, = report["workloads"]
    assert len(workload["trace_content_sha256"]) == 64
    assert report["producer"]["name"] == "h2learn-tlm" and "git_commit" in report["producer"]
    assert workload["power_density_w_per_mm2"] > 0 and workload["speedup"] > 0
    assert report["config"]["dram.channels"] > 0 and report["config"]["dram.latency_ns"] >= 0
    variants = {a["variant"] for a in report["ablations"]}
    assert {"BE dense", "FE plain PEs", "BE static lanes"} <= variants
    assert all("energy_ratio" in a and "slowdown" in a for a in report["ablations"])
    assert any(c["name"].endswith("matters") for c in report["checks"])


def test_power_density_and_ablation_checks_can_fail():
    from tlm.app.plausibility import ablation_checks, plausibility_checks
    from tlm.app.validate import AblationRow
    hot = dataclasses.replace(_row("a", 7.0, 6.0), energy_j=60.0e-3, area_mm2=100.0)  # 60 W
    assert _failed(plausibility_checks([hot], {"dram.channels": 8})) == ["a power density"]
    assert _failed(plausibility_checks([], {"dram.channels": 0})) == ["effective config echoed"]
    base = dataclasses.replace(_row("a", 7.0, 6.0), skipped_by_phase={"backward": 10})
    same = AblationRow("a", "BE dense", base, 1.0, 1.0, 1.0)
    assert _failed(ablation_checks([same], {"a": base})) == ["a: BE dense matters"]
    no_sparsity = dataclasses.replace(base, skipped_by_phase={"backward": 0})
    assert ablation_checks([same], {"a": no_sparsity}) == []


def test_command_reports_a_bad_workload_in_one_line(tmp_path, capsys):
    assert main(["validate", "--workloads", "no-such-net", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("h2learn: error:") and len(err.strip().splitlines()) == 1


def test_dram_sweep_replays_the_recorded_stream_per_bandwidth(tiny_trace):
    from tlm.app.validate import dram_sweep
    sweep = dram_sweep(tiny_trace[0], config_from_dict({}), totals_gbps=(32.0, 1024.0))
    slow, fast = sweep.points
    assert slow.value < fast.value
    assert fast.result.seconds <= slow.result.seconds
    assert fast.relative_speed == 1.0 and fast.memory_stall_share <= slow.memory_stall_share
