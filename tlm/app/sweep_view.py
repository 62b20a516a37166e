"""Sweep results on the terminal: a table ranked by one metric and, for a 1-D sweep, a bar chart.

The data step (``sweep_view``) ranks the records, picks the columns and turns
every plotted value into a fraction of its series' maximum; the renderers only
format and draw those numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from reports.tables import data_table
from rich.text import Text

from tlm.app.sweep import METRICS, Record

# Metrics that are fractions of a whole: drawn as percentages.
SHARE_METRICS = {"dram_utilization", "fe_stall_memory", "lif_stall_memory", "be_stall_memory",
                 "wue_stall_memory"}
# Shown next to the ranking metric in every table (the ranking metric is not repeated).
CONTEXT_METRICS = ("total_cycles", "speedup")
BAR_WIDTH = 40
EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True)
class SweepRow:
    """One point in the ranked table (rank is None for a failed point)."""

    rank: int | None
    trace: str
    grid: dict[str, str]
    status: str
    error: str | None
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None        # None: the point failed or the metric is undefined
    fraction: float            # of the largest value in the series, 0..1


@dataclass(frozen=True)
class PlotSeries:
    """The metric against the one swept key, for one trace, in grid order."""

    trace: str
    key: str
    bars: list[Bar]


@dataclass(frozen=True)
class SweepView:
    metric: str
    higher_is_better: bool
    grid_keys: list[str]
    columns: list[str]           # metric columns, the ranking metric first
    show_trace: bool
    rows: list[SweepRow]
    plots: list[PlotSeries]


def _sort_key(record: Record, metric: str, higher: bool) -> tuple:
    value = (record["metrics"] or {}).get(metric)
    if value is None or not math.isfinite(value):
        return (1, 0.0, record["index"])  # undefined values rank last
    return (0, -value if higher else value, record["index"])


def trace_label(name: str) -> str:
    """A trace as tables name it: the file name without its ``.h5`` suffix."""
    return name[:-3] if name.endswith(".h5") else name


def ranked_rows(records: list[Record], metric: str) -> list[SweepRow]:
    """Ok points best first by the metric (ties in point order), then the failed ones."""
    higher = METRICS[metric][1]
    ok = sorted((r for r in records if r["status"] == "ok"),
                key=lambda r: _sort_key(r, metric, higher))
    failed = sorted((r for r in records if r["status"] != "ok"), key=lambda r: r["index"])
    return [SweepRow(rank if record["status"] == "ok" else None, trace_label(record["trace"]),
                     record["grid"], record["status"], record["error"], record["metrics"] or {})
            for rank, record in enumerate(ok + failed, start=1)]


def plot_series(records: list[Record], key: str, metric: str) -> list[PlotSeries]:
    """Per trace, the metric at each value of the single swept key, in grid order."""
    traces = list(dict.fromkeys(r["trace"] for r in sorted(records, key=lambda r: r["index"])))
    series = []
    for trace in traces:
        points = sorted((r for r in records if r["trace"] == trace), key=lambda r: r["index"])
        values = [(r["metrics"] or {}).get(metric) if r["status"] == "ok" else None
                  for r in points]
        peak = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
        bars = [Bar(r["grid"][key], v, abs(v) / peak if v is not None and peak
                    and math.isfinite(v) else 0.0) for r, v in zip(points, values)]
        series.append(PlotSeries(trace_label(trace), key, bars))
    return series


def sweep_view(records: list[Record], grid_keys: list[str], dimensions: list[str],
               metric: str) -> SweepView:
    """Everything the sweep report draws; a plot only when exactly one key varies."""
    columns = [metric] + [m for m in CONTEXT_METRICS if m != metric]
    traces = {r["trace"] for r in records}
    plots = plot_series(records, dimensions[0], metric) if len(dimensions) == 1 else []
    return SweepView(metric, METRICS[metric][1], grid_keys, columns, len(traces) > 1,
                     ranked_rows(records, metric), plots)


def fmt_metric(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name in SHARE_METRICS:
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def headings(keys: list[str]) -> list[str]:
    """Grid keys by their last part (``fe.lut_k`` -> ``lut_k``) unless that is ambiguous."""
    leaves = [key.rsplit(".", 1)[-1] for key in keys]
    return [leaf if leaves.count(leaf) == 1 else key for key, leaf in zip(keys, leaves)]


def sweep_table(view: SweepView, title: str) -> Table:
    """Ranked points; a failed point says so in the metric column (its error is below)."""
    table = data_table(title)
    table.add_column("#", justify="right", no_wrap=True, min_width=len(str(len(view.rows))))
    if view.show_trace:
        table.add_column("trace", no_wrap=True)
    for heading in headings(view.grid_keys):
        table.add_column(heading, no_wrap=True)
    arrow = "↑" if view.higher_is_better else "↓"
    for i, name in enumerate(view.columns):
        table.add_column(f"{name} {arrow}" if i == 0 else name, justify="right", no_wrap=True,
                         style="bold" if i == 0 else None)
    for row in view.rows:
        cells = ([fmt_metric(name, row.metrics.get(name)) for name in view.columns]
                 if row.status == "ok" else
                 [Text("failed", style="red")] + ["–"] * (len(view.columns) - 1))
        table.add_row(str(row.rank) if row.rank is not None else "",
                      *([row.trace] if view.show_trace else []),
                      *(row.grid.get(key, "") for key in view.grid_keys), *cells)
    return table


def bar_text(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``fraction × width`` cells, with eighth-cell resolution."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def render_plot(series: PlotSeries, metric: str, console: Console) -> None:
    console.print(Text(f"{metric} vs {series.key} ({series.trace})", style="bold"))
    width = max(len(bar.label) for bar in series.bars)
    for bar in series.bars:
        line = Text(f"  {bar.label:>{width}} ")
        if bar.value is None:
            line.append("failed", style="red")
        else:
            line.append(bar_text(bar.fraction).ljust(BAR_WIDTH), style="cyan")
            line.append(f" {fmt_metric(metric, bar.value)}")
        console.print(line)


def render_failures(view: SweepView, console: Console) -> None:
    """Each distinct error once, with the point it hit (or how many points it hit)."""
    failed = [row for row in view.rows if row.status != "ok"]
    for error in dict.fromkeys(row.error for row in failed):
        hit = [row for row in failed if row.error == error]
        where = " ".join([hit[0].trace, *(f"{k}={v}" for k, v in hit[0].grid.items())])
        who = where if len(hit) == 1 else f"{len(hit)} points, e.g. {where}"
        console.print(Text(f"failed ({who}): {error}", style="red"))


def render_sweep(view: SweepView, console: Console, title: str = "Sweep") -> None:
    """The ranked table, the failed points' errors, then the bar chart(s) of a 1-D sweep."""
    console.print(sweep_table(view, title))
    render_failures(view, console)
    for series in view.plots:
        console.print()
        render_plot(series, view.metric, console)
