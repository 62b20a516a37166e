"""The default run is predictive: no calibration energy, every state buffer priced,
output sparsity saves BE cycles, effective config recorded (issue 10's done-when list)."""

from __future__ import annotations

import pytest

from tlm.app.api import simulate


@pytest.fixture(scope="module")
def default_run():
    return simulate(None)


def test_default_energy_has_no_calibration_and_a_plausible_power(default_run):
    breakdown = default_run.energy_pj["breakdown"]
    assert "calibration" not in breakdown
    assert breakdown["clock_control"] > 0 and breakdown["leakage"] > 0
    power_w = default_run.energy_pj["total"] * 1e-12 / default_run.seconds
    assert power_w / default_run.area_mm2["total"] <= 0.5   # W/mm², below a V100 at TDP


def test_state_buffers_carry_traffic_and_energy(default_run):
    for buffer in ("lif.membrane", "wue.grad"):
        row = default_run.buffers[buffer]
        assert row["bytes_read"] > 0 and row["bytes_written"] > 0
        assert default_run.energy_pj["breakdown"][f"sram_{buffer}"] > 0


def test_output_sparsity_saves_backward_engine_cycles(default_run):
    without = simulate(None, {"be.sparsity": "input"})
    assert default_run.engines["be"]["busy"] < without.engines["be"]["busy"]


def test_results_record_effective_dram_values(default_run):
    dram = default_run.config["dram"]
    assert dram["channels"] > 0 and dram["peak_gbps_per_channel"] > 0 and dram["latency_ns"] >= 0


def test_gpu_energy_is_broken_down(default_run):
    gpu = default_run.gpu
    parts = gpu["energy_breakdown_j"]
    assert parts["idle"] + parts["dynamic"] == pytest.approx(gpu["energy_j"])
    assert sum(v for k, v in parts.items() if k.startswith("phase.")) == pytest.approx(
        gpu["energy_j"])
    assert gpu["optimizer"] == "sgd"
