"""The default design point, re-derived from the written rule of docs/design-point.md.

    python -m tlm.app.design_point [--cache DIR] [--workloads a,b] [--check-only]

The rule, in short:

1. Die budget: the V100's 815 mm² over the paper's 7.38× area saving, at the
   model's 28 nm — about 110 mm². The budget is an input; the die is not
   tuned to it beyond spending it.
2. Start every engine small (``START``) and grow by doublings. At each step,
   first double any *cheap* unit (< 1 % of the die) whose doubling speeds some
   reference workload by more than 5 % — no designer starves a unit that costs
   nothing. Otherwise take the doubling with the largest speed gain (geometric
   mean over the reference workloads) per mm² it adds, if it fits the budget
   and gains at least ``MIN_GAIN``. Stop when nothing qualifies.
3. Buffers other than the FE's LUT storage are not grown to fill the area:
   each is sized to a named working set of the reference workloads, capped so
   that the starting die fits the budget (``tlm.app.buffer_sizing``), before
   the search.

The script prints each step, the derived values, and the cheap-unit check:
for every unit under 1 % of the die, the largest time change when it is
doubled (pass: at most 5 % on every reference workload).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from typing import Callable, Mapping

from reports.area import area_model
from tlm.app.api import load_trace, run_iterations
from tlm.app.buffer_sizing import fixed_sizes, report_rows, size_buffers
from tlm.app.validate import REFERENCE_WORKLOADS, with_overrides
from tlm.config import SystemConfig

GPU_DIE_MM2 = 815.0          # NVIDIA V100 (GV100) die, NVIDIA Volta whitepaper
PAPER_AREA_SAVING = 7.38     # H2Learn abstract (arXiv 2107.11746)
DIE_BUDGET_MM2 = GPU_DIE_MM2 / PAPER_AREA_SAVING
CHEAP_SHARE = 0.01           # a unit under 1 % of the die is "cheap"
CHEAP_GAIN = 0.05            # ... and may never be worth more than 5 % of any workload's time
MIN_GAIN = 0.02              # a doubling that buys < 2 % (geomean) is not worth its area
MAX_STEPS = 24

# knob -> the area components that grow with it
UNITS: dict[str, tuple[str, ...]] = {
    "fe.pes": ("fe_pes",), "be.lanes": ("be_lanes",), "wue.pes": ("wue_pes", "wue_lut"),
    "lif.lanes": ("lif_lanes",), "fe.lut_buffer_kib": ("sram_fe.lut",),
}
START: dict[str, int] = {"fe.pes": 1024, "be.lanes": 1024, "wue.pes": 1024, "lif.lanes": 64,
                         "fe.lut_buffer_kib": 2048}

Timer = Callable[[SystemConfig], dict[str, int]]   # config -> cycles per workload


@dataclass(frozen=True)
class Step:
    knob: str
    value: int
    reason: str            # "cheap" | "best gain per mm²"
    gain: float            # geomean speed gain of the doubling
    die_mm2: float


def unit_mm2(cfg: SystemConfig, knob: str) -> float:
    """Area of the unit a knob sizes, its share of control/interconnect included."""
    area = area_model(cfg)
    overhead = area.total_mm2 / (area.total_mm2 - area.by_component["control_interconnect"])
    return sum(area.by_component[c] for c in UNITS[knob]) * overhead


def doubled(cfg: SystemConfig, knob: str) -> SystemConfig:
    return with_overrides(cfg, {knob: 2 * cfg.flat()[knob]})


def gains(base: Mapping[str, int], new: Mapping[str, int]) -> dict[str, float]:
    """Per workload, time before / time after - 1."""
    return {w: base[w] / new[w] - 1 for w in base}


def geomean_gain(per_workload: Mapping[str, float]) -> float:
    values = list(per_workload.values())
    return math.exp(sum(math.log1p(g) for g in values) / len(values)) - 1


def derive(timer: Timer, start: SystemConfig,
           on_step: Callable[[Step], None] | None = None) -> tuple[SystemConfig, list[Step]]:
    """Grow ``start`` by the rule until no doubling qualifies."""
    cfg, steps = start, []
    for _ in range(MAX_STEPS):
        base = timer(cfg)
        die = area_model(cfg).total_mm2
        options = []
        for knob in UNITS:
            trial = doubled(cfg, knob)
            trial_die = area_model(trial).total_mm2
            per = gains(base, timer(trial))
            cheap = unit_mm2(cfg, knob) < CHEAP_SHARE * die
            options.append((knob, trial, trial_die, per, cheap))
        step = _choose(options, die)
        if step is None:
            break
        knob, trial, trial_die, per, cheap = step
        cfg = trial
        steps.append(Step(knob, cfg.flat()[knob], "cheap" if cheap and max(per.values()) > CHEAP_GAIN
                          else "best gain per mm²", geomean_gain(per), trial_die))
        if on_step is not None:
            on_step(steps[-1])
    return cfg, steps


def _choose(options: list, die: float):
    cheap = [o for o in options if o[4] and max(o[3].values()) > CHEAP_GAIN]
    if cheap:
        return max(cheap, key=lambda o: max(o[3].values()))
    fitting = [o for o in options if o[2] <= DIE_BUDGET_MM2 and geomean_gain(o[3]) >= MIN_GAIN]
    if not fitting:
        return None
    return max(fitting, key=lambda o: geomean_gain(o[3]) / max(o[2] - die, 1e-9))


@dataclass(frozen=True)
class CheapCheck:
    knob: str
    share: float                 # of the die
    worst_gain: float            # largest speed-up over the workloads when doubled
    worst_workload: str

    @property
    def passed(self) -> bool:
        return self.share >= CHEAP_SHARE or self.worst_gain <= CHEAP_GAIN


def cheap_unit_check(timer: Timer, cfg: SystemConfig) -> list[CheapCheck]:
    """Every unit under 1 % of the die, doubled: how much faster does any workload get?"""
    base = timer(cfg)
    die = area_model(cfg).total_mm2
    checks = []
    for knob in UNITS:
        share = unit_mm2(cfg, knob) / die
        if share >= CHEAP_SHARE:  # not cheap: listed, not simulated
            checks.append(CheapCheck(knob, share, float("nan"), ""))
            continue
        per = gains(base, timer(doubled(cfg, knob)))
        worst = max(per, key=per.get)
        checks.append(CheapCheck(knob, share, per[worst], worst))
    return checks


def trace_timer(traces: Mapping[str, str]) -> Timer:
    """Cycles of each reference trace on a config, memoised (every config is simulated once)."""
    memo: dict[tuple, dict[str, int]] = {}

    def timer(cfg: SystemConfig) -> dict[str, int]:
        key = tuple(sorted(cfg.flat().items()))
        if key not in memo:
            memo[key] = {}
            for name, path in traces.items():
                with load_trace(path) as reader:
                    memo[key][name] = sum(r.total_cycles for r in run_iterations(reader, cfg))
        return memo[key]
    return timer


def main(argv: list[str] | None = None) -> int:
    from traces.recipes import ensure_trace, reference_recipe
    parser = argparse.ArgumentParser(prog="python -m tlm.app.design_point",
                                     description="re-derive the default design point")
    parser.add_argument("--cache", help="trace cache (default ~/.cache/h2learn)")
    parser.add_argument("--workloads", default=",".join(REFERENCE_WORKLOADS))
    parser.add_argument("--check-only", action="store_true",
                        help="only run the cheap-unit check on the current defaults")
    args = parser.parse_args(argv)
    names = [n for n in args.workloads.split(",") if n]
    traces = {n: str(ensure_trace(reference_recipe(n), args.cache)) for n in names}
    timer = trace_timer(traces)
    print(f"die budget {DIE_BUDGET_MM2:.1f} mm² (= {GPU_DIE_MM2:g} / {PAPER_AREA_SAVING:g})")
    start, cap_kib, rows = size_buffers(with_overrides(SystemConfig(), START), DIE_BUDGET_MM2,
                                        REFERENCE_WORKLOADS)
    print(f"buffers (working sets of {', '.join(REFERENCE_WORKLOADS)}; cap {cap_kib} KiB, "
          f"starting die {area_model(start).total_mm2:.1f} mm²):")
    print("\n".join(report_rows(rows)))
    cfg = SystemConfig()
    status = _print_buffer_check(cfg, fixed_sizes(rows))
    if not args.check_only:
        cfg, _ = derive(timer, start, lambda s: print(
            f"  double {s.knob:18} -> {s.value:>6}  ({s.reason}, +{s.gain:.1%} geomean, "
            f"die {s.die_mm2:.1f} mm²)"))
        print("derived:", ", ".join(f"{k} = {cfg.flat()[k]}" for k in UNITS))
    print(f"die {area_model(cfg).total_mm2:.1f} mm²")
    return _print_check(cheap_unit_check(timer, cfg)) or status


def _print_buffer_check(cfg: SystemConfig, rule: Mapping[str, int]) -> int:
    """0 when every default buffer size is the rule's, else 1 (and the differences)."""
    flat = cfg.flat()
    off = {k: (flat[k], v) for k, v in rule.items() if flat[k] != v}
    for knob, (default, derived) in off.items():
        print(f"  default {knob} = {default} KiB, the rule gives {derived} KiB   FAIL")
    print("buffer defaults: " + ("the rule's" if not off else f"{len(off)} differ from the rule"))
    return 1 if off else 0


def _print_check(checks: list[CheapCheck]) -> int:
    print(f"cheap-unit check (units < {CHEAP_SHARE:.0%} of the die, doubled):")
    for c in checks:
        if c.share >= CHEAP_SHARE:
            print(f"  {c.knob:18} {c.share:6.2%} of die   not cheap")
            continue
        print(f"  {c.knob:18} {c.share:6.2%} of die   worst +{c.worst_gain:.1%} "
              f"({c.worst_workload})   {'pass' if c.passed else 'FAIL'}")
    return 0 if all(c.passed for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
