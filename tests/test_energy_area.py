"""Energy and area pricing: tables, SRAM fit, breakdowns that add up."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports import tech
from reports.area import area_model, config_buffers_kib
from reports.energy import (COMPUTE_COMPONENTS, action_energies_pj, config_buffer_capacities,
                            default_sram_banks, leakage_w, price_energy)
from tlm.config import config_from_dict

HBM2_PJ_PER_BIT = 3.9      # HBM2 energy per bit, as memory/presets.py cites it
ACTIVATION_PJ = 500.0      # an arbitrary positive test value

SAMPLE_COUNTS = {
    "fe.lut_read": 1_000_000, "fe.lut_write": 20_000, "fe.add": 20_000,
    "wue.lut_read": 300_000, "wue.lut_write": 16_000, "wue.add": 50_000,
    "be.mac": 400_000, "lif.mul": 80_000, "lif.add": 80_000, "lif.compare": 120_000,
    "lif.select": 80_000, "wue.mul": 5_000, "fe.weight_read": 1_000,
    "sram.fe.input.read_bytes": 100_000, "sram.fe.input.write_bytes": 100_000,
    "sram.be.weight.read_bytes": 800_000, "sram.lif.membrane.write_bytes": 64_000,
    "dram.read_bytes": 2_000_000, "dram.write_bytes": 500_000, "dram.activations": 3_000,
}


def _price(counts, tech_node="28nm", cycles=100_000, **kwargs):
    cfg = config_from_dict({"energy.tech": tech_node})
    return price_energy(counts, {}, cfg, cycles, HBM2_PJ_PER_BIT, ACTIVATION_PJ, **kwargs)


# ---------------------------------------------------------------- tech tables
def test_horowitz_points_are_reproduced_at_45nm():
    assert tech.int_add_pj(8, "45nm") == 0.03
    assert tech.int_mult_pj(32, "45nm") == 3.1
    assert tech.fp_mult_pj("fp32", "45nm") == 3.7


def test_interpolated_width_lies_between_its_neighbours():
    assert tech.int_add_pj(8, "45nm") < tech.int_add_pj(12, "45nm") < tech.int_add_pj(16, "45nm")
    assert tech.int_mult_um2(16, "45nm") == pytest.approx(math.sqrt(282 * 3495))


def test_28nm_is_cheaper_than_45nm():
    for fn in (tech.int_add_pj, tech.int_mult_pj, tech.int_add_um2, tech.register_um2):
        assert fn(16, "28nm") < fn(16, "45nm")
    assert tech.sram_read_pj(65536, 64, "28nm") < tech.sram_read_pj(65536, 64, "45nm")
    assert tech.sram_area_mm2(65536, "28nm") < tech.sram_area_mm2(65536, "45nm")
    assert 0.4 <= tech.logic_energy_scale("28nm") <= 0.5


def test_unknown_tech_is_refused():
    with pytest.raises(ValueError, match="tech"):
        tech.int_add_pj(16, "7nm")


@pytest.mark.parametrize("size, read_pj, area_mm2", list(zip(
    tech.CACTI_32NM_SIZES_BYTES, tech.CACTI_32NM_READ_PJ, tech.CACTI_32NM_AREA_MM2)))
def test_sram_fit_is_within_15_percent_of_cacti(size, read_pj, area_mm2):
    assert tech.SRAM_READ_FIT_32NM(size) == pytest.approx(read_pj, rel=0.15)
    assert tech.SRAM_AREA_FIT_32NM(size) == pytest.approx(area_mm2, rel=0.15)


def test_minimax_fit_balances_its_worst_points():
    errors = [abs(math.log(tech.SRAM_READ_FIT_32NM(s) / e))
              for s, e in zip(tech.CACTI_32NM_SIZES_BYTES, tech.CACTI_32NM_READ_PJ)]
    assert max(errors) < 0.13
    assert max(errors) - sorted(errors)[-2] < 0.01  # equioscillation: the worst two tie


def test_plain_power_law_exponent_matches_reference():
    assert tech.sram_plain_power_law_exponent() == pytest.approx(0.55, abs=0.02)


@settings(max_examples=60, deadline=None)
@given(st.integers(16, 1 << 26), st.floats(1.01, 8.0))
def test_sram_energy_and_area_grow_with_capacity(size, factor):
    bigger = size * factor
    for node in ("28nm", "45nm"):
        assert tech.sram_read_pj(bigger, 16, node) > tech.sram_read_pj(size, 16, node)
        assert tech.sram_area_mm2(bigger, node) > tech.sram_area_mm2(size, node)


def test_sram_write_costs_more_than_read_and_narrow_words_cost_less():
    assert tech.sram_write_pj(4096, 64, "28nm") > tech.sram_read_pj(4096, 64, "28nm")
    assert tech.sram_read_pj(4096, 16, "28nm") < tech.sram_read_pj(4096, 64, "28nm")


def test_sram_node_scale_halves_from_32_to_22nm():
    assert (22 / 32) ** tech.SRAM_NODE_EXPONENT == pytest.approx(0.5)
    assert tech.sram_node_scale("45nm") > 1 > tech.sram_node_scale("28nm")


# --------------------------------------------------------------------- energy
def test_energy_breakdown_sums_exactly_to_total():
    result = _price(SAMPLE_COUNTS)
    assert sum(result.by_component.values()) == result.total_pj
    assert set(result.by_component) >= {
        "fe_lut", "fe_compute", "be_compute", "wue_lut", "lif",
        "sram_fe.input", "sram_be.weight", "dram", "leakage"}
    assert all(v >= 0 for v in result.by_component.values())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 50))
def test_dynamic_energy_scales_linearly_with_counts(scale):
    one = _price(SAMPLE_COUNTS)
    many = _price({k: v * scale for k, v in SAMPLE_COUNTS.items()})
    for name, value in one.by_component.items():
        expected = value if name in ("leakage", "calibration") else value * scale
        assert many.by_component[name] == pytest.approx(expected, rel=1e-12)


def test_each_compute_action_is_priced_at_its_table_energy():
    cfg = config_from_dict({})
    prices = action_energies_pj(cfg, config_buffer_capacities(cfg), default_sram_banks(cfg))
    for key, component in COMPUTE_COMPONENTS.items():
        result = _price({key: 1000}, cycles=0)
        assert result.by_component[component] == pytest.approx(1000 * prices[key])
        clock = cfg.energy.clock_control_fraction  # the clock tree and control serve every action
        assert result.total_pj == pytest.approx(1000 * prices[key] * (1 + clock))


def test_clock_control_is_its_fraction_of_on_chip_dynamic_energy_only():
    cfg = config_from_dict({"energy.clock_control_fraction": 0.5})
    counts = {"be.mac": 1000, "dram.read_bytes": 10_000}
    result = price_energy(counts, {}, cfg, 0, HBM2_PJ_PER_BIT, ACTIVATION_PJ)
    assert result.by_component["clock_control"] == pytest.approx(
        0.5 * result.by_component["be_compute"])  # DRAM energy is not clocked by the die


def test_state_accesses_are_word_reads_and_writes_in_a_lane_bank():
    cfg = config_from_dict({"energy.tech": "45nm"})
    prices = action_energies_pj(cfg, config_buffer_capacities(cfg), default_sram_banks(cfg))
    bank = cfg.lif.membrane_buffer_kib * 1024 / cfg.lif.lanes
    assert prices["lif.membrane_read"] == pytest.approx(
        tech.sram_read_pj(bank, cfg.lif.membrane_bits, "45nm"))
    assert prices["wue.grad_write"] > prices["wue.grad_read"] > 0
    result = price_energy({"lif.membrane_write": 10}, {}, cfg, 0, 1.0, 1.0)
    assert result.by_component["sram_lif.membrane"] == pytest.approx(
        10 * prices["lif.membrane_write"])


def test_be_mac_is_a_16bit_multiply_32bit_add_and_a_weight_read():
    cfg = config_from_dict({"energy.tech": "45nm"})
    prices = action_energies_pj(cfg, config_buffer_capacities(cfg), default_sram_banks(cfg))
    lane_bank_bytes = cfg.be.weight_buffer_kib * 1024 / cfg.be.lanes
    weight_read = tech.sram_read_pj(lane_bank_bytes, 16, "45nm")
    assert prices["be.mac"] == pytest.approx(1.0 + 0.1 + weight_read)


def test_45nm_costs_more_than_28nm():
    assert _price(SAMPLE_COUNTS, "45nm").total_pj > _price(SAMPLE_COUNTS, "28nm").total_pj


def test_dram_energy_is_bits_times_pj_per_bit_plus_activations():
    counts = {"dram.read_bytes": 1000, "dram.write_bytes": 24, "dram.activations": 2}
    result = _price(counts, cycles=0)
    expected = 1024 * 8 * HBM2_PJ_PER_BIT + 2 * ACTIVATION_PJ
    assert result.by_component["dram"] == pytest.approx(expected)


def test_sram_bytes_cost_an_eighth_of_a_64bit_access():
    result = _price({"sram.be.weight.read_bytes": 8}, cycles=0)
    assert result.by_component["sram_be.weight"] == pytest.approx(
        tech.sram_read_pj(config_from_dict({}).be.weight_buffer_kib * 1024, 64, "28nm"))


def test_bigger_buffer_costs_more_per_byte():
    counts = {"sram.fe.input.read_bytes": 10_000}
    cfg = config_from_dict({})
    small = price_energy(counts, {"fe.input": 8 << 10}, cfg, 0, 1.0, 1.0)
    large = price_energy(counts, {"fe.input": 8 << 20}, cfg, 0, 1.0, 1.0)
    assert large.total_pj > small.total_pj


def test_lut_banking_lowers_lookup_energy():
    banked = _price({"fe.lut_read": 1000}, cycles=0)
    monolithic = _price({"fe.lut_read": 1000}, cycles=0, sram_banks={"fe.lut": 1})
    assert monolithic.total_pj > 5 * banked.total_pj


def test_leakage_is_power_times_runtime():
    cfg = config_from_dict({"clock_mhz": 500.0, "energy.calibration_power_w": 0.0})
    result = price_energy({}, {}, cfg, 1_000_000, 1.0, 1.0)
    assert result.runtime_s == pytest.approx(2e-3)
    assert result.by_component["leakage"] == pytest.approx(leakage_w(cfg) * 2e-3 * 1e12)
    assert result.average_power_w == pytest.approx(leakage_w(cfg))
    assert "calibration" not in result.by_component and result.modelled_pj == result.total_pj


def test_calibration_power_is_its_own_component_times_runtime():
    cfg = config_from_dict({"clock_mhz": 500.0, "energy.calibration_power_w": 100.0})
    result = price_energy({}, {}, cfg, 1_000_000, 1.0, 1.0)
    assert result.by_component["calibration"] == pytest.approx(100.0 * 2e-3 * 1e12)
    assert result.modelled_pj == pytest.approx(result.by_component["leakage"])


@pytest.mark.parametrize("counts, match", [
    ({"fe.lut_reads": 1}, "not a priced action"),
    ({"be.mac": -1}, "expected >= 0"),
    ({"sram.nowhere.read_bytes": 1}, "capacity unknown"),
])
def test_bad_counts_are_refused_by_name(counts, match):
    with pytest.raises(ValueError, match=match):
        _price(counts)


# ----------------------------------------------------------------------- area
def test_area_breakdown_sums_exactly_to_total():
    result = area_model(config_from_dict({}))
    assert sum(result.by_component.values()) == result.total_mm2
    for buffer in config_buffers_kib(config_from_dict({})):
        assert result.by_component[f"sram_{buffer}"] > 0
    assert {"fe_pes", "be_lanes", "wue_pes", "wue_lut", "lif_lanes",
            "control_interconnect"} <= set(result.by_component)


def test_config_buffers_follow_the_naming_of_the_simulator():
    buffers = config_buffers_kib(config_from_dict({"fe.lut_buffer_kib": 128}))
    assert buffers["fe.lut"] == 128
    assert buffers["lif.membrane"] == config_from_dict({}).lif.membrane_buffer_kib


def test_area_grows_with_buffers_and_pes_and_shrinks_with_node():
    base = area_model(config_from_dict({})).total_mm2
    assert area_model(config_from_dict({"be.weight_buffer_kib": 16384})).total_mm2 > base
    assert area_model(config_from_dict({"be.lanes": 32768})).total_mm2 > base
    assert area_model(config_from_dict({"energy.tech": "45nm"})).total_mm2 > base


def test_doubling_a_large_buffer_nearly_doubles_its_area():
    one = area_model(config_from_dict({"fe.lut_buffer_kib": 1024})).by_component["sram_fe.lut"]
    two = area_model(config_from_dict({"fe.lut_buffer_kib": 2048})).by_component["sram_fe.lut"]
    assert 1.8 < two / one < 2.05
