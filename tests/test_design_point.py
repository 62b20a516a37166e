"""The design rule's search and its cheap-unit check, on a synthetic timer (no simulation)."""

from __future__ import annotations

from tlm.app import design_point as dp
from tlm.app.validate import with_overrides
from tlm.config import SystemConfig


def _lif_bound_timer(cfg: SystemConfig) -> dict[str, int]:
    """Time set by the slowest of two units: the LIF (cheap) and the BE."""
    flat = cfg.flat()
    cycles = max(64_000_000 // flat["lif.lanes"], 4_000_000 // flat["be.lanes"] * 100)
    return {"w": cycles}


def test_cheap_check_flags_a_starved_cheap_unit():
    starved = with_overrides(SystemConfig(), {"lif.lanes": 8})
    by_knob = {c.knob: c for c in dp.cheap_unit_check(_lif_bound_timer, starved)}
    assert not by_knob["lif.lanes"].passed and by_knob["lif.lanes"].worst_gain > dp.CHEAP_GAIN
    assert by_knob["lif.lanes"].share < dp.CHEAP_SHARE
    assert all(c.passed for c in by_knob.values() if c.share >= dp.CHEAP_SHARE)


def test_derive_grows_a_cheap_bottleneck_until_it_stops_mattering():
    start = with_overrides(SystemConfig(), {"lif.lanes": 8})
    cfg, steps = dp.derive(_lif_bound_timer, start)
    assert steps and steps[0].knob == "lif.lanes" and steps[0].reason == "cheap"
    assert cfg.lif.lanes > 8
    assert all(c.passed for c in dp.cheap_unit_check(_lif_bound_timer, cfg))
    assert all(s.die_mm2 <= dp.DIE_BUDGET_MM2 or s.reason == "cheap" for s in steps)


def test_the_budget_is_the_gpu_die_over_the_papers_area_saving():
    assert abs(dp.DIE_BUDGET_MM2 - 815 / 7.38) < 1e-9


def test_default_buffers_are_the_working_set_rules():
    from tlm.app import buffer_sizing as bs
    from tlm.app.validate import REFERENCE_WORKLOADS
    start = with_overrides(SystemConfig(), dp.START)
    cfg, cap_kib, rows = bs.size_buffers(start, dp.DIE_BUDGET_MM2, REFERENCE_WORKLOADS)
    defaults = SystemConfig().flat()
    assert {r.knob: defaults[r.knob] for r in rows} == bs.fixed_sizes(rows)
    from reports.area import area_model
    assert area_model(cfg).total_mm2 <= dp.DIE_BUDGET_MM2
    assert area_model(bs.sized(start, bs.working_sets(
        [bs.get_workload(n) for n in REFERENCE_WORKLOADS], start, 2 * cap_kib))).total_mm2 \
        > dp.DIE_BUDGET_MM2  # the cap is the largest that fits


def test_a_buffer_is_its_largest_working_set_rounded_up():
    from tlm.app import buffer_sizing as bs
    from traces.workloads import get_workload
    rows = {r.knob: r for r in bs.working_sets([get_workload("tiny-mlp")], SystemConfig(), 1 << 20)}
    # FC64 over 144 inputs, 16-bit weights: 144*64*2 B = 18 KiB -> 32 KiB
    assert rows["be.weight_buffer_kib"].need_bytes == 144 * 64 * 2
    assert rows["be.weight_buffer_kib"].size_kib == 32 and not rows["be.weight_buffer_kib"].over_cap
    capped = {r.knob: r for r in bs.working_sets([get_workload("tiny-mlp")], SystemConfig(), 16)}
    assert capped["be.weight_buffer_kib"].size_kib == 16
    assert capped["be.weight_buffer_kib"].over_cap == ("tiny-mlp/fc1",)
