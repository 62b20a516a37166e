"""The terminal report (rich): Results drawn as panels, tables, bars and a sparkline.

Renderables only draw. Raw figures are read from the Results through the
``*_FIGURES`` tables below — a label, the JSON path of the value, and how it is
formatted — so a test can check that every figure shown is the JSON's number;
shares, the average power and the findings come precomputed from
``reports.findings``. The layout is meant for 80 columns; on a pipe or with
NO_COLOR rich drops the colour and the glyphs of the bars still tell the
states apart.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from reports.findings import ReportView, Share, report_view
from reports.results import Results
from reports.tables import data_table

Figure = tuple[str, tuple[str, ...], Callable[[Any], str]]

STATE_GLYPHS = {"busy": ("█", "green"), "stall_memory": ("▓", "red"),
                "stall_backpressure": ("▒", "yellow"), "starved": ("░", "blue"),
                "idle": ("·", "bright_black")}
STATE_TITLES = {"busy": "Busy", "stall_memory": "DRAM", "stall_backpressure": "Blocked",
                "starved": "Starved", "idle": "Idle"}
PHASE_TITLES = {"forward": "forward", "backward": "backward", "weight_update": "w-update"}
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
BAR_CELLS = 16


def fmt_int(value: float) -> str:
    return f"{int(value):,}"


def fmt_scaled(value: float | None, units: Sequence[tuple[float, str]],
               compact: bool = False) -> str:
    """A value in the largest unit it reaches: 1.8354e-5 s → '18.35 µs' ('18.4µs' compact)."""
    if value is None:
        return "—"
    scale, unit = next(((s, u) for s, u in units if abs(value) >= s), units[-1])
    if compact:
        return f"{value / scale:.3g}{unit}"
    return f"{value / scale:.2f} {unit}".rstrip()


def fmt_seconds(value: float | None) -> str:
    return fmt_scaled(value, [(1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")])


def fmt_joules(value: float | None) -> str:
    return fmt_scaled(value, [(1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"),
                              (1e-12, "pJ")])


def fmt_pj(value: float | None) -> str:
    return fmt_joules(None if value is None else value * 1e-12)


def fmt_bytes(value: float | None) -> str:
    return fmt_scaled(value, [(1e9, "GB"), (1e6, "MB"), (1e3, "KB"), (1.0, "B")])


def fmt_count(value: float | None) -> str:
    return fmt_scaled(value, [(1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")], compact=True)


def fmt_bytes_compact(value: float | None) -> str:
    return fmt_scaled(value, [(1e9, "GB"), (1e6, "MB"), (1e3, "KB"), (1.0, "B")], compact=True)


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}×"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def fmt_mm2(value: float) -> str:
    return f"{value:,.2f} mm²"


def fmt_gbps(value: float) -> str:
    return f"{value:,.1f} GB/s"


SUMMARY_FIGURES: list[Figure] = [
    ("Timesteps T", ("workload", "timesteps"), str), ("Batch", ("workload", "batch"), str),
    ("Iterations", ("workload", "iterations"), str), ("Clock", ("config", "clock_mhz"),
                                                       lambda v: f"{v:g} MHz"),
    ("Cycles", ("total_cycles",), fmt_int), ("Time", ("seconds",), fmt_seconds),
    ("Energy", ("energy_pj", "total"), fmt_pj), ("Area", ("area_mm2", "total"), fmt_mm2),
]
GPU_FIGURES: list[Figure] = [
    ("GPU", ("gpu", "name"), str), ("GPU time", ("gpu", "seconds"), fmt_seconds),
    ("GPU energy", ("gpu", "energy_j"), fmt_joules), ("GPU area", ("gpu", "area_mm2"), fmt_mm2),
    ("Speedup", ("speedup",), fmt_ratio), ("Energy saving", ("energy_saving",), fmt_ratio),
    ("Area saving", ("area_saving",), fmt_ratio),
    ("Simulated in", ("simulator", "wall_seconds"), lambda v: f"{v:.2f} s wall"),
]
DRAM_FIGURES: list[Figure] = [
    ("Preset", ("dram", "preset"), str), ("Channels", ("dram", "channels"), str),
    ("Read", ("dram", "bytes_read"), fmt_bytes), ("Written", ("dram", "bytes_written"), fmt_bytes),
    ("Achieved", ("dram", "achieved_gbps"), fmt_gbps), ("Peak", ("dram", "peak_gbps"), fmt_gbps),
    ("Utilization", ("dram", "utilization"), fmt_pct),
    ("Row-hit rate", ("dram", "row_hit_rate"), fmt_pct),
    ("Activations", ("dram", "activations"), fmt_int),
    ("Mean queue", ("dram", "mean_queue_cycles"), lambda v: f"{v:,.1f} cycles"),
]


def lookup(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def figure_cells(data: dict[str, Any], figures: list[Figure]) -> list[tuple[str, str]]:
    return [(label, fmt(lookup(data, path))) for label, path, fmt in figures]


def pair_grid(cells: list[tuple[str, str]]) -> Table:
    """Label/value pairs laid out two per line."""
    grid = Table.grid(padding=(0, 2))
    for _ in range(2):
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(justify="right", no_wrap=True)
    for left, right in zip(cells[::2], cells[1::2] + [("", "")] * (len(cells) % 2)):
        grid.add_row(*left, *right)
    return grid


def summary_panel(results: Results, view: ReportView, data: dict[str, Any]) -> Panel:
    workload = results.workload
    cells = figure_cells(data, SUMMARY_FIGURES)
    cells.insert(len(cells) - 1, ("Avg power", f"{view.average_power_w:,.2f} W"))
    title = f"H2Learn · {workload['name']} on {workload['dataset']}"
    return Panel(Group(pair_grid(cells), Text(""), pair_grid(figure_cells(data, GPU_FIGURES))),
                 title=title, title_align="left", box=box.ROUNDED)


def state_bar(shares: dict[str, float], cells: int = BAR_CELLS) -> Text:
    """A stacked bar; cells are shared out by largest remainder so they add up."""
    exact = [(state, shares.get(state, 0.0) * cells) for state in STATE_GLYPHS]
    counts = {state: int(value) for state, value in exact}
    spare = cells - sum(counts.values())
    for state, value in sorted(exact, key=lambda item: int(item[1]) - item[1])[:spare]:
        counts[state] += 1
    bar = Text()
    for state, (glyph, style) in STATE_GLYPHS.items():
        bar.append(glyph * counts[state], style=style)
    return bar


def activity_table(title: str, shares: dict[str, dict[str, float]]) -> Table:
    table = data_table(title)
    table.add_column("", no_wrap=True)
    table.add_column("".join(g for g, _ in STATE_GLYPHS.values()), no_wrap=True)
    for state in STATE_GLYPHS:
        table.add_column(STATE_TITLES[state], justify="right")
    for name, states in shares.items():
        table.add_row(name, state_bar(states), *(fmt_pct(states[s]) for s in STATE_GLYPHS))
    return table


def legend() -> Text:
    text = Text("  ")
    for state, (glyph, style) in STATE_GLYPHS.items():
        text.append(glyph, style=style)
        text.append(f" {STATE_TITLES[state].lower()}  ")
    return text


def phase_table(results: Results, view: ReportView) -> Table:
    table = data_table("Phases", caption="first to last activity; spans overlap when pipelined",
                       min_width=56)
    table.add_column("Phase")
    table.add_column("Cycles", justify="right")
    table.add_column("Of total", justify="right")
    for phase, cycles in results.phases.items():
        table.add_row(PHASE_TITLES.get(phase, phase), fmt_int(cycles),
                      fmt_pct(view.phase_shares[phase]))
    return table


def layer_table(view: ReportView) -> Table:
    table = data_table("Layers", caption="Ops: the phase's key op (forward fe.lut_read, "
                                         "backward be.mac, w-update wue.lut_read), done and "
                                         "skipped.")
    for header in ("Layer", "Phase", "Cycles", "Busy", "Ops", "Skipped", "Moved", "Refetch"):
        table.add_column(header, justify="left" if header in ("Layer", "Phase") else "right",
                         no_wrap=True)
    for row in view.layers:
        refetch = fmt_bytes_compact(row.refetch_bytes) if row.refetch_bytes else "—"
        table.add_row(row.name, PHASE_TITLES.get(row.phase, row.phase), fmt_int(row.cycles),
                      fmt_int(row.busy_cycles), fmt_count(row.ops_done),
                      fmt_pct(row.skipped_fraction), fmt_bytes_compact(row.moved_bytes),
                      Text(refetch, style="red" if row.refetch_bytes else ""))
    return table


def sparkline(values: list[float], top: float) -> str:
    """Unicode blocks scaled to ``top`` (the series maximum)."""
    if not values or top <= 0:
        return SPARK_BLOCKS[0] * len(values)
    last = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[min(last, round(v / top * last))] for v in values)


def dram_panel(results: Results, view: ReportView, data: dict[str, Any]) -> Panel:
    series = results.dram["bandwidth_gbps_over_time"]
    cells = figure_cells(data, DRAM_FIGURES)
    cells.insert(4, ("Moved", fmt_bytes(view.dram_moved_bytes)))
    cells.insert(5, ("Model", str(results.dram["model"])))
    spark = Text(sparkline(series["gbps"], view.bandwidth_max_gbps), style="cyan")
    note = Text(f"bandwidth over time: {len(series['gbps'])} windows of "
                f"{fmt_int(series['window_cycles'])} cycles, top {fmt_gbps(view.bandwidth_max_gbps)}",
                style="dim")
    return Panel(Group(pair_grid(cells), Text(""), spark, note), title="DRAM",
                 title_align="left", box=box.ROUNDED)


def share_table(title: str, shares: list[Share], fmt: Callable[[float], str]) -> Table:
    table = data_table(title)
    table.add_column("Component", no_wrap=True)
    table.add_column("Value", justify="right", no_wrap=True)
    table.add_column("Share", justify="right")
    table.add_column("", no_wrap=True)
    for item in shares:
        bar = "█" * round(item.share * 30) or ("▏" if item.value > 0 else "")
        table.add_row(item.name, fmt(item.value), f"{item.share:.1%}", Text(bar, style="magenta"))
    return table


def findings_table(results: Results) -> Table:
    """One finding per line; a long one wraps under its own text, not under the marker."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for item in results.findings:
        warning = item["severity"] == "warning"
        grid.add_row(Text("!" if warning else "•", style="bold red" if warning else "cyan"),
                     item["text"])
    if not results.findings:
        grid.add_row("•", Text("No findings.", style="dim"))
    return grid


def render_report(results: Results, console: Console) -> None:
    """Print the whole report; every number comes from ``results``."""
    view = report_view(results)
    data = results.to_dict()
    console.print(summary_panel(results, view, data))
    console.print(activity_table("Engines (share of total cycles)", view.engine_shares))
    console.print(activity_table("DMA loaders and storers", view.dma_shares))
    console.print(legend())
    console.print(phase_table(results, view))
    console.print(layer_table(view))
    console.print(dram_panel(results, view, data))
    console.print(share_table(f"Energy by component ({fmt_pj(results.energy_pj['total'])})",
                              view.energy, fmt_pj))
    console.print(share_table(f"Area by component ({fmt_mm2(results.area_mm2['total'])})",
                              view.area, fmt_mm2))
    console.print(Text("Findings", style="bold"))
    console.print(findings_table(results))
