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
