"""Results as data: one object holding what the TLM measured and what the models derived.

Everything a report shows is a field here, and ``to_dict()`` is the JSON
results file (schema documented in docs/results-schema.md, versioned by
``SCHEMA_VERSION``). Renderers only draw these numbers; they compute nothing.

A trace may hold several training iterations; cycle, byte and energy totals
sum over the simulated iterations, and the GPU baseline is priced for the same
number of iterations, so the ratios are per-iteration ratios.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memory.presets import DramPreset
from reports.area import area_model
from reports.energy import price_energy, with_state_traffic
from reports.findings import derive_findings
from reports.gpu import gpu_baseline
from reports.provenance import input_identity, producer
from tlm.config import SystemConfig
from tlm.record import IterationRun
from tlm.topology import BUFFER_NAMES, ENGINE_NAMES, PHASES, STATES
from traces.network import Network

SCHEMA_VERSION = "1.3.0"  # 1.1: findings; 1.2: memory_stall_by_channel; 1.3: producer, trace, buffer ports
BANDWIDTH_WINDOWS = 48


@dataclass
class Results:
    schema_version: str
    workload: dict[str, Any]
    config: dict[str, Any]
    total_cycles: int
    seconds: float
    iterations: list[dict[str, Any]]
    phases: dict[str, int]
    engines: dict[str, dict[str, int]]
    dma: dict[str, dict[str, int]]
    dram: dict[str, Any]
    buffers: dict[str, dict[str, int]]
    channels: dict[str, dict[str, int]]
    layers: list[dict[str, Any]]
    energy_pj: dict[str, Any]
    area_mm2: dict[str, Any]
    gpu: dict[str, Any]
    speedup: float
    energy_saving: float
    area_saving: float
    simulator: dict[str, Any] = field(default_factory=dict)
    memory_stall_by_channel: dict[str, list[int]] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)  # reports/findings.py
    producer: dict[str, Any] = field(default_factory=dict)  # reports/provenance.py
    trace: dict[str, Any] = field(default_factory=dict)     # the input's path and sha256

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def __repr__(self) -> str:
        # The dataclass default prints every layer and counter: thousands of characters.
        name = self.workload.get("name", "?") if isinstance(self.workload, dict) else "?"
        return (f"Results(workload={name!r}, total_cycles={self.total_cycles:,}, "
                f"seconds={self.seconds:.3g}, speedup={self.speedup:.3g}, "
                f"energy_saving={self.energy_saving:.3g}, layers={len(self.layers)})")

    def to_rows(self) -> list[dict[str, Any]]:
        """Flat per-layer-and-phase rows (``pandas.DataFrame(results.to_rows())``).

        Nested op counters become ``ops_NAME`` / ``skipped_NAME`` columns (as in
        ``--csv``); every row has the same columns (the union over all rows, zero
        where a layer has none), so a table built from them keeps its shape."""
        flat = [{**{k: v for k, v in row.items() if k not in ("ops", "skipped")},
                 **{f"ops_{k}": v for k, v in row.get("ops", {}).items()},
                 **{f"skipped_{k}": v for k, v in row.get("skipped", {}).items()}}
                for row in self.layers]
        counters = sorted({k for row in flat for k in row if k.startswith(("ops_", "skipped_"))})
        return [{**{k: v for k, v in row.items() if k not in counters},
                 **{k: row.get(k, 0) for k in counters}} for row in flat]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Results":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def sum_activity(runs: list[IterationRun], names: list[str]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for name in names:
        counter: Counter = Counter()
        for run in runs:
            counter.update(run.activity.get(name, {}))
        if counter or any(name in run.activity for run in runs):
            totals[name] = {state: int(counter.get(state, 0)) for state in STATES}
        else:  # an engine with no work in this network is idle throughout
            totals[name] = {**{s: 0 for s in STATES}, "idle": sum(r.total_cycles for r in runs)}
    return totals


def dram_summary(runs: list[IterationRun], cfg: SystemConfig) -> dict[str, Any]:
    stats = [run.dram.stats for run in runs]
    total_cycles = sum(run.total_cycles for run in runs)
    moved = sum(s.bytes_read + s.bytes_written for s in stats)
    seconds = total_cycles / (cfg.clock_mhz * 1e6)
    accesses = sum(s.row_hits + s.row_misses + s.row_conflicts for s in stats)
    requests = sum(s.requests for s in stats)
    achieved = moved / seconds / 1e9 if seconds else 0.0
    peak = stats[0].peak_gbps
    return {
        "preset": stats[0].preset, "model": stats[0].model, "channels": stats[0].channels,
        "bytes_read": sum(s.bytes_read for s in stats),
        "bytes_written": sum(s.bytes_written for s in stats),
        "achieved_gbps": achieved, "peak_gbps": peak,
        "utilization": achieved / peak if peak else 0.0,
        "row_hit_rate": sum(s.row_hits for s in stats) / accesses if accesses else 0.0,
        "activations": sum(s.activations for s in stats),
        "mean_queue_cycles": (sum(s.mean_queue_cycles * s.requests for s in stats) / requests
                              if requests else 0.0),
        "bandwidth_gbps_over_time": bandwidth_series(runs, cfg),
        "per_channel": channel_rows(stats, seconds),
    }


def channel_rows(stats: list[Any], seconds: float) -> list[dict[str, Any]]:
    """Per DRAM channel: traffic, achieved bandwidth, row-hit rate, queueing delay."""
    rows = []
    for index in range(len(stats[0].per_channel)):
        parts = [s.per_channel[index] for s in stats]
        total = {key: sum(p[key] for p in parts) for key in parts[0]}
        accesses = total["row_hits"] + total["row_misses"] + total["row_conflicts"]
        moved = total["bytes_read"] + total["bytes_written"]
        rows.append({"channel": index, "bytes_read": int(total["bytes_read"]),
                     "bytes_written": int(total["bytes_written"]),
                     "achieved_gbps": moved / seconds / 1e9 if seconds else 0.0,
                     "row_hit_rate": total["row_hits"] / accesses if accesses else 0.0,
                     "mean_queue_cycles": (total["queue_cycles_total"] / total["requests"]
                                           if total["requests"] else 0.0)})
    return rows


def bandwidth_series(runs: list[IterationRun], cfg: SystemConfig) -> dict[str, Any]:
    """Achieved bandwidth in BANDWIDTH_WINDOWS equal windows across all iterations."""
    series: list[np.ndarray] = []
    for run in runs:
        window = max(1, -(-run.total_cycles // BANDWIDTH_WINDOWS))
        points = run.dram.bandwidth_windows(window)
        series.append(np.array([gbps for _, gbps in points], dtype=float)[:BANDWIDTH_WINDOWS])
    joined = np.concatenate(series) if series else np.zeros(0)
    if len(joined) > BANDWIDTH_WINDOWS:  # several iterations: average neighbours back down
        edges = np.linspace(0, len(joined), BANDWIDTH_WINDOWS + 1).astype(int)
        joined = np.array([joined[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    total = sum(run.total_cycles for run in runs)
    return {"window_cycles": max(1, total // max(1, len(joined))),
            "gbps": [round(float(v), 3) for v in joined]}


def layer_rows(runs: list[IterationRun], network: Network) -> list[dict[str, Any]]:
    rows = []
    for n, spec in enumerate(network.layers):
        for phase in PHASES:
            parts = [run.layers[(n, phase)] for run in runs
                     if (n, phase) in run.layers]
            if not parts:
                continue
            ops: Counter = Counter()
            skipped: Counter = Counter()
            for part in parts:
                ops.update(part.ops)
                skipped.update(part.skipped)
            rows.append({
                "index": n, "name": spec.name, "kind": spec.kind, "phase": phase,
                "cycles": sum(p.cycles for p in parts),
                "busy_cycles": sum(p.busy_cycles for p in parts),
                "ops": dict(sorted(ops.items())), "skipped": dict(sorted(skipped.items())),
                "bytes_read": sum(p.bytes_read for p in parts),
                "bytes_written": sum(p.bytes_written for p in parts),
                "refetch_bytes": sum(p.refetch_bytes for p in parts)})
    return rows


def buffer_rows(runs: list[IterationRun]) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = {}
    for name in BUFFER_NAMES:
        stats = [run.buffers[name] for run in runs]
        rows[name] = {"capacity_bytes": stats[0].capacity_bytes,
                      "peak_bytes": max(s.peak_bytes for s in stats),
                      "bytes_read": sum(s.bytes_read for s in stats),
                      "bytes_written": sum(s.bytes_written for s in stats),
                      "refetch_bytes": sum(s.refetch_bytes for s in stats),
                      "port_busy_cycles": sum(s.port_busy_cycles for s in stats),
                      "port_wait_cycles": sum(s.port_wait_cycles for s in stats)}
    return rows


def phase_cycles(runs: list[IterationRun]) -> dict[str, int]:
    return {phase: sum(run.phases[phase][1] - run.phases[phase][0] for run in runs
                       if phase in run.phases) for phase in PHASES}


def action_counts(runs: list[IterationRun], dram: dict[str, Any],
                  buffers: dict[str, dict[str, int]]) -> Counter:
    """Everything the energy model prices: compute actions, SRAM and DRAM traffic."""
    actions: Counter = Counter()
    for run in runs:
        actions.update(run.actions)
    for name, row in buffers.items():
        actions[f"sram.{name}.read_bytes"] = row["bytes_read"]
        actions[f"sram.{name}.write_bytes"] = row["bytes_written"]
    actions["dram.read_bytes"] = dram["bytes_read"]
    actions["dram.write_bytes"] = dram["bytes_written"]
    actions["dram.activations"] = dram["activations"]
    return actions


def memory_stalls(runs: list[IterationRun], channels: int) -> dict[str, list[int]]:
    """Per engine, its DRAM-stall cycles blamed on each channel (the one that finished last)."""
    totals: dict[str, list[int]] = {}
    for run in runs:
        for engine, by_channel in run.memory_stalls.items():
            row = totals.setdefault(engine, [0] * channels)
            for channel, cycles in by_channel.items():
                row[channel] += cycles
    return totals


def channel_totals(runs: list[IterationRun]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for run in runs:
        for name, stats in run.channels.items():
            row = totals.setdefault(name, Counter())
            row.update({k: v for k, v in stats.items() if k != "peak_items"})
            row["peak_items"] = max(row.get("peak_items", 0), stats["peak_items"])
    return {name: dict(row) for name, row in totals.items()}


def workload_summary(meta: Any, iterations: int) -> dict[str, Any]:
    return {"name": meta.workload, "dataset": meta.dataset, "timesteps": meta.timesteps,
            "batch": meta.batch, "iterations": iterations,
            "layers": [{"name": l.name, "kind": l.kind, "in_shape": list(l.in_shape),
                        "out_shape": list(l.out_shape)} for l in meta.network.layers]}


def gpu_summary(gpu: Any, iterations: int) -> dict[str, Any]:
    """The GPU baseline for ``iterations`` training iterations, energy by where it goes."""
    return {"name": gpu.name, "seconds": gpu.seconds * iterations,
            "energy_j": gpu.energy_j * iterations, "area_mm2": gpu.area_mm2,
            "power_w": gpu.power_w, "optimizer": gpu.optimizer,
            "energy_breakdown_j": {"idle": gpu.idle_energy_j * iterations,
                                   "dynamic": gpu.dynamic_energy_j * iterations,
                                   **{f"phase.{phase}": j * iterations
                                      for phase, j in gpu.by_phase_energy_j.items()}}}


def build_results(meta: Any, cfg: SystemConfig, runs: list[IterationRun],
                  wall_seconds: float = 0.0, source: Any = None,
                  source_kind: str = "trace") -> Results:
    """The results of ``runs``; ``source`` is the file they were simulated from (provenance)."""
    network: Network = meta.network
    preset: DramPreset = runs[0].preset
    total_cycles = sum(run.total_cycles for run in runs)
    seconds = total_cycles / (cfg.clock_mhz * 1e6)
    dram = dram_summary(runs, cfg)
    buffers = buffer_rows(runs)
    capacities = {name: row["capacity_bytes"] for name, row in buffers.items()}
    counts = action_counts(runs, dram, buffers)
    energy = price_energy(counts, capacities, cfg, total_cycles,
                          preset.energy_pj_per_bit, preset.activation_energy_pj)
    buffers = with_state_traffic(buffers, counts, cfg)  # DMA bytes + the engines' state words
    area = area_model(cfg)
    gpu = gpu_baseline(network, meta.timesteps, meta.batch, cfg.gpu.preset, cfg.gpu.optimizer,
                       cfg.gpu.launch_us)
    gpu_seconds = gpu.seconds * len(runs)
    gpu_energy_j = gpu.energy_j * len(runs)
    energy_j = energy.total_pj * 1e-12
    component_names = sorted({name for run in runs for name in run.activity})
    results = Results(
        schema_version=SCHEMA_VERSION,
        workload=workload_summary(meta, len(runs)),
        config=cfg.effective().to_dict(), total_cycles=total_cycles, seconds=seconds,
        iterations=[{"index": i, "cycles": run.total_cycles, "jobs": run.jobs}
                    for i, run in enumerate(runs)],
        phases=phase_cycles(runs),
        engines=sum_activity(runs, list(ENGINE_NAMES)),
        dma=sum_activity(runs, [n for n in component_names if n not in ENGINE_NAMES]),
        dram=dram, buffers=buffers,
        channels=channel_totals(runs),
        layers=layer_rows(runs, network),
        energy_pj={"total": energy.total_pj, "breakdown": dict(energy.by_component)},
        area_mm2={"total": area.total_mm2, "breakdown": dict(area.by_component)},
        gpu=gpu_summary(gpu, len(runs)),
        speedup=gpu_seconds / seconds if seconds else float("inf"),
        energy_saving=gpu_energy_j / energy_j if energy_j else float("inf"),
        area_saving=gpu.area_mm2 / area.total_mm2,
        simulator={"wall_seconds": wall_seconds, "jobs": sum(run.jobs for run in runs),
                   "events": sum(run.events for run in runs)},
        memory_stall_by_channel=memory_stalls(runs, dram["channels"]),
        producer=producer(), trace=input_identity(source, source_kind))
    results.findings = derive_findings(results)
    return results


__all__ = ["Results", "SCHEMA_VERSION", "build_results"]
