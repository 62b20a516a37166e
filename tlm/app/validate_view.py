"""Validation on the terminal: the headline table, the checks, ablations and sensitivity plots.

Renderers only format numbers that ``tlm.app.validate`` computed (ratios, spans,
relative speeds, knees); bar lengths are the data step's fractions scaled to
the bar width.
"""

from __future__ import annotations

import dataclasses

from rich.console import Console, Group
from rich.table import Table

from reports.tables import data_table
from rich.text import Text

from tlm.app.plausibility import SensitivityRow
from tlm.app.validate import AblationRow, Sweep, Targets, Validation

BAR_WIDTH = 36
EIGHTHS = " ▏▎▍▌▋▊▉"


def _ratio(value: float) -> str:
    return f"{value:.2f}×"


def headline_table(v: Validation) -> Table:
    """One row per workload, in 80 columns: the area saving depends on the config alone,
    so it is said once, in the caption, with the paper's ranges."""
    t = v.targets
    table = data_table("Predicted: H2Learn vs the GPU baseline, one training iteration",
                       padding=(0, 0))
    for col in ("workload", "B×T", "sha256", "ms", "GPU ms", "speedup", "energy", "W",
                "W/mm²"):
        table.add_column(col, justify="left" if col in ("workload", "sha256") else "right",
                         no_wrap=True)
    for r in v.rows:
        table.add_row(r.workload, f"{r.batch}×{r.timesteps}", v.hashes.get(r.workload, "")[:8],
                      f"{r.seconds * 1e3:.2f}", f"{r.gpu_seconds * 1e3:.1f}", _ratio(r.speedup),
                      _ratio(r.energy_saving), f"{r.power_w:.2f}",
                      f"{r.power_density_w_per_mm2:.3f}")
    areas = sorted({f"{r.area_saving:.2f}×" for r in v.rows})
    table.caption = (f"energy: energy saving; area saving {', '.join(areas)}. paper (V100): "
                     f"speedup {t.paper_speedup[0]:g}–{t.paper_speedup[1]:g}×, energy saving "
                     f"{t.paper_energy_saving[0]:g}–{t.paper_energy_saving[1]:g}×, area saving "
                     f"{t.paper_area_saving:g}×: shown, not fitted (docs/faithfulness.md). "
                     "sha256: the trace's content hash")
    return table


def checks_table(v: Validation) -> Table:
    table = data_table("checks (physical plausibility)")
    table.add_column("check", no_wrap=True)
    table.add_column("measured")
    table.add_column("target")
    table.add_column("result", justify="right")
    for c in v.checks:
        mark = Text("pass", style="green") if c.passed else Text("FAIL", style="bold red")
        table.add_row(c.name, c.measured, c.target, mark)
    return table


def render_validation(v: Validation, console: Console) -> None:
    console.print(headline_table(v))
    console.print(checks_table(v))
    verdict = ("[green]all checks pass[/]" if v.passed else
               f"[bold red]{sum(not c.passed for c in v.checks)} check(s) failed[/]")
    console.print(verdict)


def ablation_table(rows: list[AblationRow]) -> Table:
    table = Table(title="ablations: each mechanism removed in turn")
    for col in ("workload", "variant", "ms", "slowdown", "energy ×", "speedup",
                "energy saving"):
        table.add_column(col, justify="left" if col in ("workload", "variant") else "right")
    previous = None
    for row in rows:
        if previous is not None and row.workload != previous:
            table.add_section()
        previous = row.workload
        r = row.result
        table.add_row(row.workload, row.variant, f"{r.seconds * 1e3:.2f}",
                      f"{row.slowdown:.3f}×", f"{row.energy_ratio:.3f}×", _ratio(r.speedup),
                      _ratio(r.energy_saving))
    return table


def _bar(fraction: float) -> str:
    eighths = round(max(0.0, min(1.0, fraction)) * BAR_WIDTH * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def sweep_table(sweep: Sweep) -> Table:
    knee = "none in range" if sweep.knee is None else f"{sweep.knee:g}"
    table = data_table(f"{sweep.workload}: {sweep.parameter} sweep (knee: {knee}; "
                        f"fastest: {sweep.fastest:g})")
    for col in (sweep.parameter, "ms", "speedup", "energy saving", "mem stall", "bound"):
        table.add_column(col, justify="right")
    table.add_column("relative speed", justify="left")
    for p in sweep.points:
        table.add_row(f"{p.value:g}", f"{p.result.seconds * 1e3:.2f}", _ratio(p.result.speedup),
                      _ratio(p.result.energy_saving), f"{p.memory_stall_share:.0%}", p.bound,
                      Text(_bar(p.relative_speed), style="cyan"))
    return table


def render_sensitivity(sweeps: list[Sweep], console: Console) -> None:
    console.print(Group(*(sweep_table(s) for s in sweeps)))


def targets_line(t: Targets) -> str:
    return (f"bands: speedup {t.speedup_band[0]:g}–{t.speedup_band[1]:g}×, energy saving "
            f"{t.energy_band[0]:g}–{t.energy_band[1]:g}× and ≤ {t.energy_over_speedup_max:g}× "
            f"speedup, area {t.paper_area_saving:g}× ± {t.area_tolerance:.0%}")


def assumption_table(rows: list[SensitivityRow]) -> Table:
    table = Table(title="sensitivity: the documented assumptions, one at a time")
    for col in ("workload", "assumption", "value", "speedup", "energy saving", "W"):
        table.add_column(col, justify="left" if col in ("workload", "assumption") else "right")
    previous = None
    for row in rows:
        if previous is not None and (row.workload, row.assumption) != previous:
            table.add_section()
        previous = (row.workload, row.assumption)
        table.add_row(row.workload, row.assumption, f"{row.value:g}", _ratio(row.speedup),
                      _ratio(row.energy_saving), f"{row.power_w:.2f}")
    return table


def validation_json(v: Validation, ablations: list[AblationRow], sweeps: list[Sweep],
                    sensitivity: list[SensitivityRow]) -> dict:
    """Everything validate computed, as plain JSON types."""
    return {
        "passed": v.passed,
        "paper": dataclasses.asdict(v.targets),
        "config": v.config,
        "workloads": [{**_result_json(r), "trace_content_sha256": v.hashes.get(r.workload, "")}
                      for r in v.rows],
        "checks": [dataclasses.asdict(c) for c in v.checks],
        "ablations": [{"workload": a.workload, "variant": a.variant, "slowdown": a.slowdown,
                       "energy_ratio": a.energy_ratio, **_result_json(a.result)}
                      for a in ablations],
        "sweeps": [{"workload": s.workload, "parameter": s.parameter, "knee": s.knee,
                    "fastest": s.fastest,
                    "points": [{"value": p.value, "seconds": p.result.seconds,
                                "speedup": p.result.speedup, "bound": p.bound,
                                "memory_stall_share": p.memory_stall_share} for p in s.points]}
                   for s in sweeps],
        "sensitivity": [dataclasses.asdict(r) for r in sensitivity],
    }


def _result_json(r) -> dict:
    out = {k: v for k, v in dataclasses.asdict(r).items() if k != "skipped_by_phase"}
    out["power_w"] = r.power_w
    out["power_density_w_per_mm2"] = r.power_density_w_per_mm2
    return out
