"""Validation on the terminal: the headline table, the checks, ablations and sensitivity plots.

Renderers only format numbers that ``tlm.app.validate`` computed (ratios, spans,
relative speeds, knees); bar lengths are the data step's fractions scaled to
the bar width. Every table is ``reports.tables.data_table`` and fits 80
columns: a table that repeats a workload on every row is one table per
workload instead, and each ablation's "matters" check is a column of the
ablation table rather than a row of its own.
"""

from __future__ import annotations

import dataclasses

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from reports.provenance import producer
from reports.tables import data_table
from tlm.app.plausibility import SensitivityRow, ablation_check_name
from tlm.app.sweep_view import bar_text
from tlm.app.validate import AblationRow, Check, Sweep, Targets, Validation

BAR_WIDTH = 12   # the sweep tables' relative-speed bars: 96 steps, and the table fits 80 columns


def _ratio(value: float) -> str:
    return f"{value:.2f}×"


def _ms(seconds: float) -> str:
    """Three significant digits: a reduced run's 0.0123 ms is not 0.01."""
    return f"{seconds * 1e3:.3g}"


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
                      _ms(r.seconds), f"{r.gpu_seconds * 1e3:.1f}", _ratio(r.speedup),
                      _ratio(r.energy_saving), f"{r.power_w:.2f}",
                      f"{r.power_density_w_per_mm2:.3f}")
    areas = sorted({f"{r.area_saving:.2f}×" for r in v.rows})
    table.caption = (f"energy: energy saving; area saving {', '.join(areas)}. paper (V100): "
                     f"speedup {t.paper_speedup[0]:g}–{t.paper_speedup[1]:g}×, energy saving "
                     f"{t.paper_energy_saving[0]:g}–{t.paper_energy_saving[1]:g}×, area saving "
                     f"{t.paper_area_saving:g}×: shown, not fitted (docs/faithfulness.md). "
                     "sha256: the trace's content hash")
    return table


def _mark(check: Check | None) -> Text:
    if check is None:
        return Text("—", style="dim")
    return Text("pass", style="green") if check.passed else Text("FAIL", style="bold red")


def checks_table(checks: list[Check], workloads: list[str] = ()) -> Table:
    """The checks, one section per workload (its name once, then its checks without it)
    and one for the checks of the whole run: short rows, so measured and target never
    wrap at 80 columns."""
    table = data_table("checks (physical plausibility)")
    table.add_column("result", no_wrap=True)
    table.add_column("check")
    table.add_column("measured")
    table.add_column("target", no_wrap=True)
    groups = _by_workload(checks, workloads)
    for workload, rows in groups.items():
        if len(table.rows):
            table.add_section()
        if workload:
            table.add_row("", Text(workload, style="bold"), "", "")
        for label, c in rows:
            table.add_row(_mark(c), f"  {label}" if workload else label, c.measured, c.target)
    return table


def _by_workload(checks: list[Check], workloads: list[str]) -> dict[str, list[tuple[str, Check]]]:
    """workload ("" = the whole run) -> (the check's name without the workload, check)."""
    groups: dict[str, list[tuple[str, Check]]] = {}
    for c in checks:
        owner = next((w for w in sorted(workloads, key=len, reverse=True)
                      if c.name.startswith((f"{w} ", f"{w}: "))), "")
        label = c.name[len(owner):].lstrip(": ") if owner else c.name
        groups.setdefault(owner, []).append((label, c))
    return dict(sorted(groups.items(), key=lambda item: item[0] == ""))


def _ablation_names(v: Validation, ablations: list[AblationRow]) -> set[str]:
    names = {ablation_check_name(a.workload, a.variant) for a in ablations}
    return {c.name for c in v.checks} & names


def render_validation(v: Validation, console: Console,
                      ablations: list[AblationRow] | None = None) -> None:
    """Headline, the checks of their own, each workload's ablations with theirs, the verdict."""
    console.print(headline_table(v))
    shown_with_ablations = _ablation_names(v, ablations or [])
    console.print(checks_table([c for c in v.checks if c.name not in shown_with_ablations],
                               [r.workload for r in v.rows]))
    checks = {c.name: c for c in v.checks}
    for workload in dict.fromkeys(a.workload for a in ablations or []):
        console.print(ablation_table([a for a in ablations if a.workload == workload], checks))
    verdict = ("[green]all checks pass[/]" if v.passed else
               f"[bold red]{sum(not c.passed for c in v.checks)} check(s) failed[/]")
    console.print(verdict)


def ablation_table(rows: list[AblationRow], checks: dict[str, Check]) -> Table:
    """One workload's ablations; ``checks`` by name give each row its "matters" result."""
    table = data_table(f"ablations on {rows[0].workload}: each mechanism removed in turn",
                       caption="matters: time or energy ≠ 1× where the trace has its "
                               "sparsity; —: not checked")
    table.add_column("variant")
    for col in ("slowdown", "energy ×", "speedup", "energy\nsaving"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("matters", no_wrap=True)
    for row in rows:
        r = row.result
        table.add_row(row.variant, f"{row.slowdown:.3f}×",
                      f"{row.energy_ratio:.3f}×", _ratio(r.speedup), _ratio(r.energy_saving),
                      _mark(checks.get(ablation_check_name(row.workload, row.variant))))
    return table


def sweep_table(sweep: Sweep) -> Table:
    knee = "none in range" if sweep.knee is None else f"{sweep.knee:g}"
    table = data_table(f"{sweep.workload}: {sweep.parameter} sweep",
                       caption=f"knee: {knee}; fastest: {sweep.fastest:g}")
    # headers break where they are wider than their numbers: no cell is ever cut
    key = sweep.parameter.replace(" ", "\n") if len(sweep.parameter) > 8 else sweep.parameter
    for col in (key, "ms", "speedup", "energy\nsaving",
                "mem\nstall", "bound"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("relative\nspeed", justify="left", no_wrap=True, min_width=BAR_WIDTH)
    for p in sweep.points:
        table.add_row(f"{p.value:g}", _ms(p.result.seconds), _ratio(p.result.speedup),
                      _ratio(p.result.energy_saving), f"{p.memory_stall_share:.0%}", p.bound,
                      Text(bar_text(p.relative_speed, BAR_WIDTH), style="cyan"))
    return table


def render_sensitivity(sweeps: list[Sweep], console: Console) -> None:
    console.print(Group(*(sweep_table(s) for s in sweeps)))


def targets_line(t: Targets) -> str:
    return (f"bands: speedup {t.speedup_band[0]:g}–{t.speedup_band[1]:g}×, energy saving "
            f"{t.energy_band[0]:g}–{t.energy_band[1]:g}× and ≤ {t.energy_over_speedup_max:g}× "
            f"speedup, area {t.paper_area_saving:g}× ± {t.area_tolerance:.0%}")


def assumption_tables(rows: list[SensitivityRow]) -> list[Table]:
    """One table per workload; a rule between one assumption's values and the next's."""
    tables = []
    for workload in dict.fromkeys(r.workload for r in rows):
        table = data_table(f"sensitivity on {workload}: each documented assumption")
        table.add_column("assumption")
        for col in ("value", "speedup", "energy\nsaving", "W"):
            table.add_column(col, justify="right", no_wrap=True)
        previous = None
        for row in (r for r in rows if r.workload == workload):
            if previous is not None and row.assumption != previous:
                table.add_section()
            table.add_row(row.assumption if row.assumption != previous else "",
                          f"{row.value:g}", _ratio(row.speedup), _ratio(row.energy_saving),
                          f"{row.power_w:.2f}")
            previous = row.assumption
        tables.append(table)
    return tables


def validation_json(v: Validation, ablations: list[AblationRow], sweeps: list[Sweep],
                    sensitivity: list[SensitivityRow]) -> dict:
    """Everything validate computed, as plain JSON types."""
    return {
        "passed": v.passed,
        "producer": producer(),   # the commit every number below came from
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
