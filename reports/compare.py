"""Comparing results files: the same metrics side by side, with relative changes.

``compare_metrics`` is the data step: it lines up one value per results file
for each metric (headline totals, per-engine stalls, DRAM traffic and
utilization, per layer × phase cycles) and computes each file's relative change
against the first (the baseline). ``render_comparison`` only draws: the
headline metrics in a fixed order, then every metric ranked by its largest
|relative change|, so what moved most is on top.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reports.render import fmt_bytes, fmt_int, fmt_pct, fmt_pj, fmt_ratio, fmt_seconds
from reports.results import Results
from reports.tables import data_table
from tlm.topology import WAIT_STATES

Format = Callable[[float | None], str]
TOP_CHANGES = 20


@dataclass(frozen=True)
class Metric:
    """One metric across the compared files, and each file's change vs the first."""

    group: str
    label: str
    values: list[float | None]
    changes: list[float | None]   # relative change of file i vs file 0; None for file 0
    fmt: Format

    @property
    def largest_change(self) -> float:
        finite = [abs(c) for c in self.changes if c is not None and math.isfinite(c)]
        return max(finite, default=0.0)


def relative_change(base: float | None, value: float | None) -> float | None:
    if base is None or value is None:
        return None
    if base == 0:
        return 0.0 if value == 0 else math.inf
    return (value - base) / abs(base)


def metric(group: str, label: str, values: list[float | None], fmt: Format) -> Metric:
    changes = [None] + [relative_change(values[0], v) for v in values[1:]]
    return Metric(group, label, values, changes, fmt)


def fraction(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def headline_metrics(runs: Sequence[Results]) -> list[Metric]:
    return [
        metric("total", "cycles", [r.total_cycles for r in runs], fmt_int),
        metric("total", "time", [r.seconds for r in runs], fmt_seconds),
        metric("total", "energy", [r.energy_pj["total"] for r in runs], fmt_pj),
        metric("total", "speedup vs GPU", [r.speedup for r in runs], fmt_ratio),
        metric("total", "energy saving", [r.energy_saving for r in runs], fmt_ratio),
        metric("total", "area saving", [r.area_saving for r in runs], fmt_ratio),
        metric("dram", "bytes moved", [r.dram["bytes_read"] + r.dram["bytes_written"]
                                       for r in runs], fmt_bytes),
        metric("dram", "utilization", [r.dram["utilization"] for r in runs], fmt_pct),
        metric("dram", "row-hit rate", [r.dram["row_hit_rate"] for r in runs], fmt_pct),
        metric("dram", "mean queue cycles", [r.dram["mean_queue_cycles"] for r in runs],
               lambda v: "—" if v is None else f"{v:,.1f}"),
    ]


def engine_metrics(runs: Sequence[Results]) -> list[Metric]:
    """Each engine's stall and starvation cycles, and its busy share."""
    found = []
    for name in runs[0].engines:
        rows = [r.engines.get(name) for r in runs]
        for state in WAIT_STATES:
            found.append(metric("engine", f"{name} {state} cycles",
                                [row[state] if row else None for row in rows], fmt_int))
        found.append(metric("engine", f"{name} busy share",
                            [fraction(row["busy"], sum(row.values())) if row else None
                             for row in rows], fmt_pct))
    return found


def layer_metrics(runs: Sequence[Results]) -> list[Metric]:
    """Cycles of every layer × phase, matched by layer name and phase."""
    keyed = [{(row["name"], row["phase"]): row["cycles"] for row in r.layers} for r in runs]
    keys = list(keyed[0]) + [k for table in keyed[1:] for k in table if k not in keyed[0]]
    return [metric("layer", f"{name} {phase} cycles", [table.get((name, phase)) for table in keyed],
                   fmt_int) for name, phase in dict.fromkeys(keys)]


def compare_metrics(runs: Sequence[Results]) -> list[Metric]:
    """Every compared metric, in presentation order (headline, engines, layers)."""
    return headline_metrics(runs) + engine_metrics(runs) + layer_metrics(runs)


def change_rank(m: Metric) -> float:
    """How much a metric moved: a value appearing from zero counts as the most."""
    if any(c is not None and not math.isfinite(c) for c in m.changes):
        return math.inf
    return m.largest_change


def ranked_changes(metrics: list[Metric], top: int = TOP_CHANGES) -> list[Metric]:
    """The metrics that changed, largest |relative change| first."""
    changed = [m for m in metrics if change_rank(m) > 0]
    return sorted(changed, key=lambda m: -change_rank(m))[:top]


def fmt_change(change: float | None) -> Text:
    if change is None:
        return Text("—", style="dim")
    if not math.isfinite(change):
        return Text("new", style="bold yellow")
    style = "bold red" if change > 0.10 else "bold green" if change < -0.10 else ""
    return Text(f"{change:+.1%}", style=style)


def metric_table(title: str, metrics: list[Metric], names: list[str]) -> Table:
    table = data_table(title)
    table.add_column("Metric", no_wrap=True)
    for i, name in enumerate(names):
        table.add_column(name, justify="right", no_wrap=True)
        if i:
            table.add_column("Δ", justify="right", no_wrap=True)
    for m in metrics:
        cells: list[str | Text] = [m.label, m.fmt(m.values[0])]
        for value, change in zip(m.values[1:], m.changes[1:]):
            cells += [m.fmt(value), fmt_change(change)]
        table.add_row(*cells)
    return table


def short_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """File names, or paths when two files share a name; capped to fit a column."""
    names = [os.path.basename(str(p)) for p in paths]
    if len(set(names)) < len(names):
        names = [str(p) for p in paths]
    return [n if len(n) <= 18 else "…" + n[-17:] for n in names]


def render_comparison(runs: Sequence[Results], paths: Sequence[str | os.PathLike],
                      console: Console) -> None:
    """Headline metrics side by side, then the largest changes vs the first file."""
    metrics = compare_metrics(runs)
    names = short_names(paths)
    console.print(Text(f"Baseline: {paths[0]}; Δ is each file's change relative to it.",
                       style="dim"))
    console.print(metric_table("Headline", headline_metrics(runs), names))
    ranked = ranked_changes(metrics)
    if ranked:
        console.print(metric_table(f"Largest changes (top {len(ranked)} by |Δ|)", ranked, names))
    else:
        console.print(Text("No differences.", style="bold"))
