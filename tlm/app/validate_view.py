"""Validation on the terminal: the headline table, the checks, ablations and sensitivity plots.

Renderers only format numbers that ``tlm.app.validate`` computed (ratios, spans,
relative speeds, knees); bar lengths are the data step's fractions scaled to
the bar width.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table

from reports.tables import data_table
from rich.text import Text

from tlm.app.validate import AblationRow, Sweep, Targets, Validation

BAR_WIDTH = 36
EIGHTHS = " ▏▎▍▌▋▊▉"


def _ratio(value: float) -> str:
    return f"{value:.2f}×"


def headline_table(v: Validation) -> Table:
    t = v.targets
    # ten columns in 80: short headings, one space between columns, the paper's
    # ranges in the caption rather than as a (wider) row
    table = data_table("H2Learn vs the GPU baseline — one training iteration per workload",
                       padding=(0, 0))
    for col in ("workload", "B×T", "ms", "GPU ms", "speedup", "energy", "model", "area",
                "W", "model W"):
        table.add_column(col, justify="left" if col == "workload" else "right", no_wrap=True)
    for r in v.rows:
        table.add_row(r.workload, f"{r.batch}×{r.timesteps}", f"{r.seconds * 1e3:.2f}",
                      f"{r.gpu_seconds * 1e3:.1f}", _ratio(r.speedup), _ratio(r.energy_saving),
                      f"{r.modelled_energy_saving:.0f}×", _ratio(r.area_saving),
                      f"{r.power_w:.0f}", f"{r.modelled_power_w:.1f}")
    table.caption = ("energy, model, area: savings against the GPU. "
                     f"paper: speedup {t.paper_speedup[0]:g}–{t.paper_speedup[1]:g}×, energy "
                     f"saving {t.paper_energy_saving[0]:g}–{t.paper_energy_saving[1]:g}×, area "
                     f"saving {t.paper_area_saving:g}×. model = first-principles energy "
                     "without energy.calibration_power_w (docs/assumptions.md); "
                     "W = average power")
    return table


def checks_table(v: Validation) -> Table:
    table = data_table("targets")
    for col in ("check", "measured", "target", "result"):
        table.add_column(col, justify="left" if col == "check" else "right")
    for c in v.checks:
        mark = Text("pass", style="green") if c.passed else Text("FAIL", style="bold red")
        table.add_row(c.name, c.measured, c.target, mark)
    return table


def render_validation(v: Validation, console: Console) -> None:
    console.print(headline_table(v))
    console.print(checks_table(v))
    verdict = ("[green]all targets met[/]" if v.passed else
               f"[bold red]{sum(not c.passed for c in v.checks)} target(s) missed[/]")
    console.print(verdict)


def ablation_table(rows: list[AblationRow]) -> Table:
    table = data_table("ablations: each mechanism removed in turn")
    for col in ("workload", "variant", "ms", "slowdown", "energy ×", "modelled energy ×",
                "speedup", "energy saving"):
        table.add_column(col, justify="left" if col in ("workload", "variant") else "right")
    previous = None
    for row in rows:
        if previous is not None and row.workload != previous:
            table.add_section()
        previous = row.workload
        r = row.result
        table.add_row(row.workload, row.variant, f"{r.seconds * 1e3:.2f}",
                      f"{row.slowdown:.2f}×", f"{row.energy_ratio:.2f}×",
                      f"{row.modelled_energy_ratio:.2f}×", _ratio(r.speedup),
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
