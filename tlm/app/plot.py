"""Figures for papers and slides, drawn with matplotlib (the optional ``plot`` extra).

From a results file (``h2learn run --json``): where each engine's and DMA's
time goes, DRAM bandwidth over time against the peak, and per-layer phase
cycles. From a timeline (``--timeline``): the engines' activity over time.
From a sweep folder: the metric against the swept key(s). Every number drawn
is read from the file; nothing is recomputed.

The style is a paper's: serif 8 pt text, a 3.5-inch single-column width
(7 inches for the three-panel summary), no top or right spines, a
colour-blind-safe palette (Okabe and Ito, "Color Universal Design", 2008).
Output files are deterministic: PNG at 300 dpi, SVG and PDF without dates.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

FORMATS = ("png", "svg", "pdf")
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")
STATE_COLOURS = {"busy": "#0072B2", "stall_memory": "#D55E00", "stall_backpressure": "#E69F00",
                 "starved": "#CC79A7", "idle": "#D9D9D9"}
STATE_LABELS = {"busy": "busy", "stall_memory": "DRAM stall",
                "stall_backpressure": "back-pressure", "starved": "starved", "idle": "idle"}
PHASE_LABELS = {"forward": "forward", "backward": "backward", "weight_update": "weight update"}
PAPER_STYLE = {"font.family": "serif", "font.size": 8, "axes.titlesize": 8,
               "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
               "ytick.labelsize": 7, "axes.spines.top": False, "axes.spines.right": False,
               "savefig.bbox": "tight", "svg.hashsalt": "h2learn", "legend.frameon": False,
               "axes.prop_cycle": None}


class PlotError(ValueError):
    """An input or output the plot command cannot use (one line, exit code 2)."""


def pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or a PlotError naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise PlotError("h2learn plot needs matplotlib: pip install '.[plot]' "
                        "(from a checkout)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cycler import cycler
    plt.rcParams.update({**PAPER_STYLE, "axes.prop_cycle": cycler(color=OKABE_ITO)})
    return plt


def output_format(path: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise PlotError(f"{path}: expected a .png, .svg or .pdf output file")
    return suffix


def figure_bytes(figure: Any, fmt: str) -> bytes:
    """The figure encoded as fmt, with no timestamps (same input, same bytes)."""
    metadata = {"png": {"Software": None}, "svg": {"Date": None},
                "pdf": {"CreationDate": None, "ModDate": None}}[fmt]
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=300, metadata=metadata)
    return buffer.getvalue()


def engine_time(ax: Any, results: dict[str, Any]) -> None:
    """One horizontal bar per engine and DMA, split into the five states (shares)."""
    rows = {**results["engines"], **results["dma"]}
    names = list(rows)[::-1]
    left = [0.0] * len(names)
    for state, colour in STATE_COLOURS.items():
        shares = [rows[n].get(state, 0) / max(1, sum(rows[n].values())) for n in names]
        ax.barh(names, shares, left=left, color=colour, label=STATE_LABELS[state], height=0.7)
        left = [a + b for a, b in zip(left, shares)]
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of total cycles")
    ax.set_title("Where each engine's time goes")
    ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))


def dram_bandwidth(ax: Any, results: dict[str, Any]) -> None:
    """Achieved DRAM bandwidth per window against the peak."""
    dram = results["dram"]
    series = dram["bandwidth_gbps_over_time"]
    clock_hz = results["config"]["clock_mhz"] * 1e6
    window_us = series["window_cycles"] / clock_hz * 1e6
    times = [(i + 0.5) * window_us for i in range(len(series["gbps"]))]
    ax.step(times, series["gbps"], where="mid", label="achieved")
    ax.axhline(dram["peak_gbps"], linestyle="--", color="#000000", linewidth=0.8,
               label=f"peak {dram['peak_gbps']:.0f} GB/s")
    ax.set_ylim(0, dram["peak_gbps"] * 1.1)
    ax.set_xlabel("time (µs)")
    ax.set_ylabel("DRAM bandwidth (GB/s)")
    ax.set_title(f"DRAM bandwidth ({dram['preset']})")
    ax.legend(loc="upper right")


def layer_phases(ax: Any, results: dict[str, Any]) -> None:
    """Grouped bars: each layer's cycles in each phase."""
    names = list(dict.fromkeys(row["name"] for row in results["layers"]))
    cycles = {(row["name"], row["phase"]): row["cycles"] for row in results["layers"]}
    width = 0.8 / len(PHASE_LABELS)
    for k, (phase, label) in enumerate(PHASE_LABELS.items()):
        xs = [i + (k - 1) * width for i in range(len(names))]
        ax.bar(xs, [cycles.get((n, phase), 0) for n in names], width=width, label=label)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("cycles")
    ax.set_title("Per-layer phase cycles")
    ax.legend()


RESULTS_FIGURES = {"engines": engine_time, "bandwidth": dram_bandwidth, "layers": layer_phases}


def results_figure(plt: Any, results: dict[str, Any], which: str) -> Any:
    """One panel (3.5 in wide) or, for "summary", the three side by side (7 in)."""
    panels = list(RESULTS_FIGURES) if which == "summary" else [which]
    figure, axes = plt.subplots(1, len(panels), figsize=(3.5 * len(panels), 2.6),
                                squeeze=False)
    for ax, name in zip(axes[0], panels):
        RESULTS_FIGURES[name](ax, results)
    figure.suptitle(f"{results['workload']['name']} on H2Learn "
                    f"({results['total_cycles']:,} cycles)", fontsize=8, y=1.04)
    return figure


def timeline_figure(plt: Any, trace: dict[str, Any]) -> Any:
    """The engines' and DMAs' busy slices over time (a Gantt chart of the timeline file)."""
    threads = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"]
               if e.get("ph") == "M" and e.get("name") == "thread_name" and e.get("pid") == 1}
    slices: dict[str, list[tuple[float, float]]] = {}
    for event in trace["traceEvents"]:
        if event.get("ph") == "X" and event.get("pid") == 1 and event.get("tid") in threads:
            name = threads[event["tid"]]
            if name != "iterations":
                slices.setdefault(name, []).append((event["ts"], event["dur"]))
    if not slices:
        raise PlotError("the timeline holds no engine slices")
    names = sorted(slices)[::-1]
    figure, ax = plt.subplots(figsize=(7, 0.25 * len(names) + 0.8))
    engines = sorted({name.split(".")[0] for name in names})
    for row, name in enumerate(names):  # an engine and its DMAs share a colour
        colour = OKABE_ITO[engines.index(name.split(".")[0]) % len(OKABE_ITO)]
        ax.broken_barh(slices[name], (row - 0.35, 0.7), color=colour, linewidth=0)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("time (µs)")
    ax.set_title("Engine and DMA activity")
    return figure


def sweep_figure(plt: Any, records: list[dict[str, Any]], metric: str) -> Any:
    """The metric against the first swept key, one line per trace (and other keys' values)."""
    ok = [r for r in records if r["status"] == "ok" and r["metrics"].get(metric) is not None]
    if not ok:
        raise PlotError(f"no completed point has a value for {metric}")
    keys = [k for k in ok[0]["grid"] if len({r["grid"][k] for r in ok}) > 1]
    if not keys:
        raise PlotError("the sweep varies no key: nothing to plot against")
    x_key, others = keys[0], keys[1:]
    values = list(dict.fromkeys(r["grid"][x_key] for r in sorted(ok, key=lambda r: r["index"])))
    series: dict[str, dict[str, float]] = {}
    for record in ok:
        label = ", ".join([record["trace"], *(f"{k}={record['grid'][k]}" for k in others)])
        series.setdefault(label, {})[record["grid"][x_key]] = record["metrics"][metric]
    figure, ax = plt.subplots(figsize=(3.5, 2.6))
    for label, points in series.items():
        xs = [v for v in values if v in points]
        ax.plot([values.index(v) for v in xs], [points[v] for v in xs], marker="o",
                markersize=3, label=label)
    ax.set_xticks(range(len(values)), values)
    ax.set_xlabel(x_key)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against {x_key}")
    if len(series) > 1:
        ax.legend(fontsize=6)
    return figure


def read_json(path: Path) -> dict[str, Any]:
    """A results or timeline file (.json or .json.gz) as a dict, or a PlotError."""
    from traces.files import read_regular_text
    try:
        if path.suffix == ".gz":
            data = json.loads(gzip.decompress(path.read_bytes()))
        else:
            data = json.loads(read_regular_text(path, 1 << 30))
    except (OSError, ValueError, EOFError) as exc:
        raise PlotError(f"{path}: not a readable JSON results or timeline file ({exc})") from None
    if not isinstance(data, dict):
        raise PlotError(f"{path}: expected a JSON object")
    return data


def read_sweep(folder: Path) -> list[dict[str, Any]]:
    """The latest record of each point in a sweep folder's points.jsonl."""
    from tlm.app.sweep import SweepJournal
    journal = SweepJournal(folder)
    if not journal.jsonl_path.is_file():
        raise PlotError(f"{folder}: no points.jsonl (is it an `h2learn sweep --out` folder?)")
    return list(journal.load().values())


__all__ = ["FORMATS", "PlotError", "figure_bytes", "output_format", "pyplot", "read_json",
           "read_sweep", "results_figure", "sweep_figure", "timeline_figure"]
