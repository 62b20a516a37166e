"""Derived numbers and plain-language findings: the data step between Results and a report.

Renderers draw numbers; they do not compute them. Everything a report shows
that is not a raw field of ``Results`` — a state's share of an engine's time,
an op's skipped fraction, an energy component's share, the average power,
and the sentences under "Findings" — is computed here, from the Results
alone, so a saved results file renders exactly like a fresh run.

Findings are small records (kind, subject, value, severity, text) so scripts
can filter them; ``build_results`` stores them in ``Results.findings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tlm.topology import ENGINES

if TYPE_CHECKING:  # results.py imports this module to fill Results.findings
    from reports.results import Results

ENGINE_TITLES = {e.name: e.title for e in ENGINES}
ENGINE_PHASES = {e.name: e.phases for e in ENGINES}
# What an engine waits for when its input channel is empty (why it starves).
STARVED_BY = {"fe": "input spikes from its loader", "lif": "x / do tiles from the FE and BE",
              "be": "du and mask tiles from its loader", "wue": "du from the BE"}
BLOCKED_BY = {"fe": "the LIF unit", "lif": "its storer", "be": "the LIF unit and the WUE",
              "wue": "its storer"}
# The operation that measures each phase's main work, and what skipping it means.
KEY_OPS = {"forward": "fe.lut_read", "backward": "be.mac", "weight_update": "wue.lut_read"}

STALL_WARN = 0.20        # a memory stall or back-pressure share worth a warning
STARVED_WARN = 0.30      # starving is normal in a pipeline; only a large share is news
COMPUTE_BOUND = 0.30     # DRAM utilization below this: bandwidth is not the limit
BANDWIDTH_BOUND = 0.70   # above this: the DRAM is close to its peak
DRAM_ENERGY_WARN = 0.50  # DRAM share of energy worth calling out


@dataclass(frozen=True)
class Share:
    """A named amount and its fraction of a total."""

    name: str
    value: float
    share: float


@dataclass(frozen=True)
class LayerView:
    """One layer × phase row of Results.layers with its derived columns."""

    name: str
    phase: str
    cycles: int
    busy_cycles: int
    key_op: str
    ops_done: int | None        # None: the phase has no key op in this layer
    skipped_fraction: float | None
    moved_bytes: int
    refetch_bytes: int


@dataclass(frozen=True)
class ReportView:
    """Every derived number the terminal report shows."""

    engine_shares: dict[str, dict[str, float]]
    dma_shares: dict[str, dict[str, float]]
    phase_shares: dict[str, float]
    layers: list[LayerView]
    energy: list[Share]
    area: list[Share]
    average_power_w: float
    dram_moved_bytes: int
    bandwidth_max_gbps: float   # top of the bandwidth sparkline


def fraction(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def state_shares(activity: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """Each component's states as fractions of its total cycles (they sum to 1)."""
    return {name: {state: fraction(cycles, sum(states.values()))
                   for state, cycles in states.items()}
            for name, states in activity.items()}


def breakdown_shares(breakdown: dict[str, float], total: float) -> list[Share]:
    """Components sorted by size, largest first, with their share of the total."""
    ranked = sorted(breakdown.items(), key=lambda item: (-item[1], item[0]))
    return [Share(name, value, fraction(value, total)) for name, value in ranked]


def layer_view(row: dict[str, Any]) -> LayerView:
    key_op = KEY_OPS[row["phase"]]
    done = row["ops"].get(key_op)
    skipped = row["skipped"].get(key_op, 0)
    return LayerView(
        name=row["name"], phase=row["phase"], cycles=row["cycles"],
        busy_cycles=row["busy_cycles"], key_op=key_op, ops_done=done,
        skipped_fraction=None if done is None else fraction(skipped, done + skipped),
        moved_bytes=row["bytes_read"] + row["bytes_written"],
        refetch_bytes=row["refetch_bytes"])


def report_view(results: Results) -> ReportView:
    return ReportView(
        engine_shares=state_shares(results.engines),
        dma_shares=state_shares(results.dma),
        phase_shares={p: fraction(c, results.total_cycles) for p, c in results.phases.items()},
        layers=[layer_view(row) for row in results.layers],
        energy=breakdown_shares(results.energy_pj["breakdown"], results.energy_pj["total"]),
        area=breakdown_shares(results.area_mm2["breakdown"], results.area_mm2["total"]),
        average_power_w=fraction(results.energy_pj["total"] * 1e-12, results.seconds),
        dram_moved_bytes=results.dram["bytes_read"] + results.dram["bytes_written"],
        bandwidth_max_gbps=max(results.dram["bandwidth_gbps_over_time"]["gbps"], default=0.0))


def finding(kind: str, subject: str, value: float, severity: str, text: str) -> dict[str, Any]:
    return {"kind": kind, "subject": subject, "value": value, "severity": severity,
            "text": text}


def busiest_layers(results: Results, phases: tuple[str, ...], count: int = 2) -> list[str]:
    """Names of the layers that move the most DRAM bytes in the given phases."""
    moved: dict[str, int] = {}
    for row in results.layers:
        if row["phase"] in phases:
            moved[row["name"]] = moved.get(row["name"], 0) + row["bytes_read"] + row["bytes_written"]
    ranked = sorted(moved, key=lambda name: -moved[name])[:count]
    return [name for name in ranked if moved[name] > 0]


def engine_findings(results: Results) -> list[dict[str, Any]]:
    found = []
    for name, shares in state_shares(results.engines).items():
        title = ENGINE_TITLES.get(name, name)
        if shares["stall_memory"] >= STALL_WARN:
            layers = busiest_layers(results, ENGINE_PHASES.get(name, ()))
            where = f"; most DRAM traffic in {', '.join(layers)}" if layers else ""
            found.append(finding("stall_memory", name, shares["stall_memory"], "warning",
                                 f"{title} stalled {shares['stall_memory']:.0%} of its time "
                                 f"on DRAM{where}"))
        if shares["stall_backpressure"] >= STALL_WARN:
            found.append(finding("stall_backpressure", name, shares["stall_backpressure"],
                                 "warning", f"{title} blocked {shares['stall_backpressure']:.0%}"
                                 f" of its time by a full channel to {BLOCKED_BY[name]}"))
        if shares["starved"] >= STARVED_WARN:
            found.append(finding("starved", name, shares["starved"], "info",
                                 f"{title} starved {shares['starved']:.0%} of its time "
                                 f"waiting for {STARVED_BY[name]}"))
    return found


def bottleneck_finding(results: Results) -> list[dict[str, Any]]:
    shares = state_shares(results.engines)
    if not shares:
        return []
    name = max(shares, key=lambda n: shares[n]["busy"])
    return [finding("bottleneck", name, shares[name]["busy"], "info",
                    f"{ENGINE_TITLES.get(name, name)} is the busiest engine "
                    f"({shares[name]['busy']:.0%} busy): it bounds the iteration time")]


def dram_findings(results: Results) -> list[dict[str, Any]]:
    utilization = results.dram["utilization"]
    found = []
    if utilization < COMPUTE_BOUND:
        found.append(finding("compute_bound", "dram", utilization, "info",
                             f"DRAM utilization {utilization:.0%}: compute-bound, "
                             "more bandwidth would help little"))
    elif utilization > BANDWIDTH_BOUND:
        found.append(finding("bandwidth_bound", "dram", utilization, "warning",
                             f"DRAM utilization {utilization:.0%}: bandwidth-bound, "
                             "a faster DRAM or fewer bytes would pay off"))
    dram_share = fraction(results.energy_pj["breakdown"].get("dram", 0.0),
                          results.energy_pj["total"])
    if dram_share >= DRAM_ENERGY_WARN:
        found.append(finding("dram_energy", "dram", dram_share, "info",
                             f"DRAM accesses are {dram_share:.0%} of the energy"))
    return found


def fmt_bytes(count: float) -> str:
    """Bytes with a decimal prefix, as the report writes them."""
    scale, unit = next(((f, u) for f, u in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB"))
                        if count >= f), (1.0, "B"))
    return f"{count / scale:.3g} {unit}"


def refetch_layers(results: Results, buffer: str) -> list[str]:
    """Layers whose re-reads happened in the phases of the buffer's engine."""
    phases = ENGINE_PHASES.get(buffer.partition(".")[0], ())
    names = [row["name"] for row in results.layers
             if row["refetch_bytes"] > 0 and row["phase"] in phases]
    return list(dict.fromkeys(names))


def refetch_findings(results: Results) -> list[dict[str, Any]]:
    found = []
    for name, buffer in results.buffers.items():
        if buffer["refetch_bytes"] > 0:
            share = fraction(buffer["refetch_bytes"], buffer["bytes_written"])
            layers = refetch_layers(results, name)
            where = f" in {', '.join(layers)}" if layers else ""
            found.append(finding(
                "refetch", name, buffer["refetch_bytes"], "warning",
                f"Tiling forced re-reads: buffer {name} ({buffer['capacity_bytes'] / 1024:.0f}"
                f" KiB) re-fetched {fmt_bytes(buffer['refetch_bytes'])} from DRAM{where} "
                f"({share:.0%} of what it loaded)"))
    return found


def port_findings(results: Results) -> list[dict[str, Any]]:
    """Buffers whose port made DMA requests queue for a notable share of the run."""
    found = []
    for name, buffer in results.buffers.items():
        share = fraction(buffer.get("port_wait_cycles", 0), results.total_cycles)
        if share >= STALL_WARN:
            found.append(finding(
                "port_contention", name, share, "warning",
                f"SRAM port contention: DMA requests queued for the port of {name} "
                f"{share:.0%} of the run (a wider sram.port_bytes_per_cycle would help)"))
    return found


def derive_findings(results: Results) -> list[dict[str, Any]]:
    """Plain-language findings, warnings first, each with the number behind it."""
    found = (engine_findings(results) + refetch_findings(results) + port_findings(results)
             + dram_findings(results) + bottleneck_finding(results))
    return sorted(found, key=lambda f: f["severity"] != "warning")
