"""Bandwidth and stall analysis: is a run bandwidth-bound or compute-bound, and where?

Works on the results *dict* (``Results.to_dict()`` or a saved JSON file), so a
results file from any earlier run can be analysed. Three views, all data:

- per layer × phase, the bandwidth **demand** (bytes the layer-phase moved over
  its wall span, GB/s) against the **supply** (the DRAM's peak GB/s); a
  layer-phase is flagged bandwidth-bound when its demand reaches
  ``DEMAND_BOUND`` of the peak, or when an engine working in that phase stalls
  on memory for ``STALL_WARN`` of its time while the layer still asks for at
  least ``DEMAND_MATERIAL`` of the peak. (Results count memory stalls per
  engine, not per layer, so the phase's engines stand in for the layer.)
- per engine, the share of its time busy, stalled on memory, blocked by
  back-pressure, starved and idle;
- one bottleneck statement naming the verdict, the engine and the layers.

``render_analysis(results_dict, console)`` draws it; it computes nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from reports.tables import data_table
from rich.text import Text

from reports.findings import (BANDWIDTH_BOUND, ENGINE_PHASES, ENGINE_TITLES, STALL_WARN,
                              fmt_bytes, fraction)
from tlm.topology import STATES

DEMAND_BOUND = 0.70       # demand at this share of the peak: the layer-phase is bandwidth-bound
DEMAND_MATERIAL = 0.30    # below this share a layer-phase is not blamed for its engine's stalls
ENGINE_ABBREV = {"fe": "FE", "lif": "LIF unit", "be": "BE", "wue": "WUE"}
STATE_HEADINGS = {"busy": "busy", "stall_memory": "memory stall",
                  "stall_backpressure": "back-pressure", "starved": "starved", "idle": "idle"}
REQUIRED = ("total_cycles", "config", "dram", "engines", "layers")


class AnalysisError(ValueError):
    """A dict that is not an h2learn results file."""


@dataclass(frozen=True)
class LayerBandwidth:
    """One layer × phase: what it asked of the DRAM and whether that bound it."""

    index: int
    name: str
    phase: str
    cycles: int
    moved_bytes: int
    demand_gbps: float
    demand_share: float          # of the DRAM's peak; above 1 the layer wants more than exists
    phase_stall_memory: float    # largest memory-stall share of the engines in this phase
    bound: bool


@dataclass(frozen=True)
class EngineStalls:
    name: str
    title: str
    shares: dict[str, float]     # STATES -> fraction of the engine's cycles (sum to 1)


@dataclass(frozen=True)
class Analysis:
    peak_gbps: float
    achieved_gbps: float
    utilization: float
    layers: list[LayerBandwidth]
    engines: list[EngineStalls]
    verdict: str                 # "bandwidth-bound" | "compute-bound"
    engine: str                  # the engine the verdict is about
    statement: str
    channel_shares: dict[str, list[float]]  # engine -> share of its DRAM stalls per channel


def channel_shares(results: dict[str, Any]) -> dict[str, list[float]]:
    """Per engine, the share of its DRAM-stall cycles caused by each channel (older
    results files without ``memory_stall_by_channel`` give an empty mapping)."""
    shares = {}
    for engine, cycles in results.get("memory_stall_by_channel", {}).items():
        total = sum(cycles)
        if total:
            shares[engine] = [c / total for c in cycles]
    return shares


def check_results(results: dict[str, Any]) -> None:
    missing = [key for key in REQUIRED if key not in results]
    if missing or "clock_mhz" not in results["config"] or "peak_gbps" not in results["dram"]:
        raise AnalysisError(f"not an h2learn results file (missing "
                            f"{(missing or ['config.clock_mhz / dram.peak_gbps'])[0]!r})")
    if not results["layers"] or not results["engines"]:
        raise AnalysisError("results hold no layer or engine rows: nothing to analyse")


def engine_stalls(results: dict[str, Any]) -> list[EngineStalls]:
    rows = []
    for name, states in results["engines"].items():
        total = sum(states.get(s, 0) for s in STATES)
        rows.append(EngineStalls(name, ENGINE_TITLES.get(name, name),
                                 {s: fraction(states.get(s, 0), total) for s in STATES}))
    return rows


def phase_stalls(engines: list[EngineStalls]) -> dict[str, float]:
    """Per phase, the largest memory-stall share among the engines that work in it."""
    stalls: dict[str, float] = {}
    for engine in engines:
        for phase in ENGINE_PHASES.get(engine.name, ()):
            stalls[phase] = max(stalls.get(phase, 0.0), engine.shares["stall_memory"])
    return stalls


def layer_bandwidth(results: dict[str, Any], engines: list[EngineStalls]) -> list[LayerBandwidth]:
    clock_hz = results["config"]["clock_mhz"] * 1e6
    peak = results["dram"]["peak_gbps"]
    stalls = phase_stalls(engines)
    rows = []
    for row in results["layers"]:
        moved = row["bytes_read"] + row["bytes_written"]
        demand = fraction(moved, row["cycles"] / clock_hz) / 1e9
        share = fraction(demand, peak)
        stall = stalls.get(row["phase"], 0.0)
        bound = share >= DEMAND_BOUND or (stall >= STALL_WARN and share >= DEMAND_MATERIAL)
        rows.append(LayerBandwidth(row["index"], row["name"], row["phase"], row["cycles"], moved,
                                   demand, share, stall, bound))
    return rows


PHASE_WORDS = {"forward": "forward", "backward": "backward", "weight_update": "weight update"}


def name_runs(rows: list[LayerBandwidth]) -> str:
    """``conv2, conv3, conv4`` -> ``conv2–conv4``: runs of 3+ adjacent layers as a range."""
    rows = sorted(rows, key=lambda r: r.index)
    runs: list[list[LayerBandwidth]] = []
    for row in rows:
        if runs and row.index == runs[-1][-1].index + 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    parts = []
    for run in runs:
        parts.extend([f"{run[0].name}–{run[-1].name}"] if len(run) >= 3 else [r.name for r in run])
    return ", ".join(parts)


def where(rows: list[LayerBandwidth]) -> str:
    """Layer-phases in words, phase by phase: ``conv2–conv4 backward and fc1 forward``."""
    groups = [f"{name_runs([r for r in rows if r.phase == p])} {word}"
              for p, word in PHASE_WORDS.items() if any(r.phase == p for r in rows)]
    return " and ".join(groups)


def bandwidth_statement(engine: EngineStalls, bound: list[LayerBandwidth], peak: float,
                        utilization: float) -> str:
    top = max(bound, key=lambda r: r.demand_gbps)
    return (f"The run is bandwidth-bound: the {ENGINE_ABBREV.get(engine.name, engine.name)} "
            f"stalls {engine.shares['stall_memory']:.0%} of its time on DRAM during "
            f"{where(bound)}, where demand reaches {top.demand_gbps:.3g} GB/s against a "
            f"{peak:.3g} GB/s peak "
            f"(DRAM {utilization:.0%} utilized over the run). More bandwidth or fewer bytes "
            "moved (larger buffers, fewer re-reads) would shorten it.")


def compute_statement(engine: EngineStalls, layers: list[LayerBandwidth], stall: EngineStalls,
                      peak: float) -> str:
    own = [r for r in layers if r.phase in ENGINE_PHASES.get(engine.name, ())] or layers
    longest = max(own, key=lambda r: r.cycles)
    top = max(layers, key=lambda r: r.demand_gbps)
    return (f"The run is compute-bound in the {ENGINE_ABBREV.get(engine.name, engine.name)}: "
            f"the {engine.title} is busy {engine.shares['busy']:.0%} of its time, longest in "
            f"{where([longest])}; DRAM demand peaks at {top.demand_gbps:.3g} of {peak:.3g} GB/s "
            f"({where([top])}) and no engine stalls more than "
            f"{stall.shares['stall_memory']:.0%} of its time on memory. More PEs or lanes, "
            "or more sparsity, would shorten it; more bandwidth would not.")


def analyze(results: dict[str, Any]) -> Analysis:
    """The bandwidth/stall analysis of a results dict (see the module docstring)."""
    check_results(results)
    engines = engine_stalls(results)
    layers = layer_bandwidth(results, engines)
    dram = results["dram"]
    staller = max(engines, key=lambda e: e.shares["stall_memory"])
    busiest = max(engines, key=lambda e: e.shares["busy"])
    stalled = staller.shares["stall_memory"]
    bandwidth_bound = dram["utilization"] >= BANDWIDTH_BOUND or (
        stalled >= STALL_WARN and stalled >= busiest.shares["busy"])
    if bandwidth_bound:
        own = [r for r in layers if r.bound and r.phase in ENGINE_PHASES.get(staller.name, ())]
        named = own or [r for r in layers if r.bound] or [max(layers, key=lambda r: r.demand_gbps)]
        statement = bandwidth_statement(staller, named, dram["peak_gbps"], dram["utilization"])
    else:
        statement = compute_statement(busiest, layers, staller, dram["peak_gbps"])
    return Analysis(dram["peak_gbps"], dram["achieved_gbps"], dram["utilization"], layers,
                    engines, "bandwidth-bound" if bandwidth_bound else "compute-bound",
                    staller.name if bandwidth_bound else busiest.name, statement,
                    channel_shares(results))


def fmt_gbps(gbps: float) -> str:
    """3 significant digits without exponents: 0.512, 9.96, 672, 6,240."""
    return f"{gbps:,.0f}" if gbps >= 100 else f"{gbps:.3g}"


def bandwidth_table(analysis: Analysis) -> Table:
    # eight columns of long layer and phase names: one space of padding, not two
    table = data_table(f"Bandwidth demand vs supply (DRAM peak {analysis.peak_gbps:.3g} GB/s)",
                       padding=(0, 1, 0, 0))
    for column in ("layer", "phase", "cycles", "moved", "GB/s", "of peak", "stalled",
                   "bound"):
        table.add_column(column, justify="left" if column in ("layer", "phase") else "right",
                         no_wrap=True)  # a wrapped or cut number misleads
    for row in analysis.layers:
        style = "bold red" if row.bound else None
        table.add_row(row.name, PHASE_WORDS[row.phase], f"{row.cycles:,}",
                      fmt_bytes(row.moved_bytes), fmt_gbps(row.demand_gbps),
                      Text(f"{row.demand_share:.0%}", style=style),
                      f"{row.phase_stall_memory:.0%}",
                      Text("yes", style=style) if row.bound else "")
    return table


def stall_table(analysis: Analysis) -> Table:
    table = data_table("Engine time")
    table.add_column("engine")
    for state in STATES:
        table.add_column(STATE_HEADINGS[state], justify="right")
    for engine in analysis.engines:
        table.add_row(ENGINE_ABBREV.get(engine.name, engine.name),
                      *(f"{engine.shares[s]:.0%}" for s in STATES))
    return table


def channel_table(analysis: Analysis) -> Table:
    """Which DRAM channel each engine's memory stalls are blamed on (the one whose
    transfer of the awaited tile finished last)."""
    channels = max(len(v) for v in analysis.channel_shares.values())
    table = data_table("DRAM stalls by channel (share of each engine's memory stall)")
    table.add_column("engine")
    for channel in range(channels):
        table.add_column(f"ch{channel}", justify="right")
    for engine, shares in analysis.channel_shares.items():
        table.add_row(ENGINE_ABBREV.get(engine, engine), *(f"{v:.0%}" for v in shares))
    return table


def render_analysis(results: dict[str, Any], console: Console) -> None:
    """Draw the analysis of a results dict: two tables and the bottleneck statement."""
    analysis = analyze(results)
    console.print(bandwidth_table(analysis))
    console.print(stall_table(analysis))
    if analysis.channel_shares:
        console.print(channel_table(analysis))
    style = "yellow" if analysis.verdict == "bandwidth-bound" else "green"
    console.print(Panel(analysis.statement, title=analysis.verdict, title_align="left",
                        border_style=style))
