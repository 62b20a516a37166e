"""Validation of the reference workloads: predictions, plausibility, ablations, sensitivity.

Everything here is data: each function simulates reference traces on a
configuration and returns dataclasses; ``tlm/app/validate_view.py`` draws them
and ``h2learn validate`` wires the two. Every ratio is read off
``tlm.app.api.simulate`` results, so a change to any DRAM, PE or energy
parameter changes what comes out.

The model *predicts* speedup, energy saving, area saving and power; the
paper's published ranges (H2Learn abstract, arXiv 2107.11746: 5.74–10.20×
speedup, 5.25–7.12× energy saving, 7.38× area saving against a V100) are
shown next to the predictions, not used as pass bands. Pass/fail is physical
plausibility (``tlm.app.plausibility``). ``check_targets`` — the paper's
bands — is applied only on request (``h2learn validate --against-paper``),
for the opt-in configs/paper-calibrated.toml profile:

* every speedup within 5.0–11.5×, and the speedups together covering at least
  ``speedup_span_fraction`` of the paper's 5.74–10.20×;
* every energy saving within 4.5–8.0× and at most 1.10 × its own speedup;
* the area saving 7.38× ± 10 %.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from reports.energy import CALIBRATION_COMPONENT
from reports.results import Results, build_results
from tlm.app.api import load_trace, resolve_config, run_iterations
from tlm.config import SystemConfig, config_from_dict
from tlm.app.replay import record_stream, replay_runs
from traces.identity import content_sha256

REFERENCE_WORKLOADS = ("mnist-cnn", "nmnist-cnn", "cifar10-cifarnet", "dvsgesture-cnn")


@dataclass(frozen=True)
class Targets:
    """The paper's headline numbers (H2Learn abstract, arXiv 2107.11746) and the pass bands around them."""

    paper_speedup: tuple[float, float] = (5.74, 10.20)
    paper_energy_saving: tuple[float, float] = (5.25, 7.12)
    paper_area_saving: float = 7.38
    speedup_band: tuple[float, float] = (5.0, 11.5)
    speedup_span_fraction: float = 0.6
    energy_band: tuple[float, float] = (4.5, 8.0)
    energy_over_speedup_max: float = 1.10
    area_tolerance: float = 0.10


@dataclass(frozen=True)
class WorkloadResult:
    """One reference workload on one configuration: the ratios and what they come from."""

    workload: str
    batch: int
    timesteps: int
    seconds: float
    gpu_seconds: float
    energy_j: float
    modelled_energy_j: float      # before the explicit calibration factor
    gpu_energy_j: float
    area_mm2: float
    speedup: float
    energy_saving: float
    modelled_energy_saving: float
    area_saving: float
    wall_s: float
    skipped_by_phase: Mapping[str, int] = field(default_factory=dict)  # ops sparsity saved

    @property
    def power_density_w_per_mm2(self) -> float:
        return self.power_w / self.area_mm2 if self.area_mm2 else 0.0

    @property
    def power_w(self) -> float:
        return self.energy_j / self.seconds if self.seconds else 0.0

    @property
    def modelled_power_w(self) -> float:
        return self.modelled_energy_j / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Check:
    """One pass/fail criterion, with the measured value and the band it had to meet."""

    name: str
    passed: bool
    measured: str
    target: str


@dataclass
class Validation:
    rows: list[WorkloadResult]
    checks: list[Check]
    targets: Targets = field(default_factory=Targets)
    hashes: dict[str, str] = field(default_factory=dict)     # workload -> content sha256
    config: dict[str, Any] = field(default_factory=dict)     # effective (presets resolved)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def workload_result(results: Results, wall_s: float = 0.0) -> WorkloadResult:
    """The headline ratios of one run, read off its results."""
    energy_j = results.energy_pj["total"] * 1e-12
    calibration_j = results.energy_pj["breakdown"].get(CALIBRATION_COMPONENT, 0.0) * 1e-12
    modelled_j = energy_j - calibration_j
    gpu_j = results.gpu["energy_j"]
    return WorkloadResult(
        workload=results.workload["name"], batch=results.workload["batch"],
        timesteps=results.workload["timesteps"], seconds=results.seconds,
        gpu_seconds=results.gpu["seconds"], energy_j=energy_j, modelled_energy_j=modelled_j,
        gpu_energy_j=gpu_j, area_mm2=results.area_mm2["total"], speedup=results.speedup,
        energy_saving=results.energy_saving,
        modelled_energy_saving=gpu_j / modelled_j if modelled_j > 0 else float("inf"),
        area_saving=results.area_saving, wall_s=wall_s,
        skipped_by_phase=_skipped_by_phase(results))


def _skipped_by_phase(results: Results) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in results.layers:
        totals[row["phase"]] = totals.get(row["phase"], 0) + sum(row["skipped"].values())
    return totals


def simulate_timed(trace: str | os.PathLike, cfg: SystemConfig) -> tuple[Results, float]:
    start = time.perf_counter()
    with load_trace(trace) as reader:
        results = build_results(reader.meta, cfg, run_iterations(reader, cfg))
    return results, time.perf_counter() - start


def check_targets(rows: list[WorkloadResult], targets: Targets = Targets()) -> list[Check]:
    """Every pass/fail criterion of the module docstring, on measured rows."""
    checks: list[Check] = []
    lo, hi = targets.speedup_band
    for r in rows:
        checks.append(Check(f"{r.workload} speedup", lo <= r.speedup <= hi,
                            f"{r.speedup:.2f}×", f"{lo:g}–{hi:g}×"))
    checks.append(_span_check(rows, targets))
    elo, ehi = targets.energy_band
    cap = targets.energy_over_speedup_max
    for r in rows:
        checks.append(Check(f"{r.workload} energy saving", elo <= r.energy_saving <= ehi,
                            f"{r.energy_saving:.2f}×", f"{elo:g}–{ehi:g}×"))
        checks.append(Check(f"{r.workload} energy saving / speedup",
                            r.energy_saving <= cap * r.speedup,
                            f"{r.energy_saving / r.speedup:.2f}", f"≤ {cap:g}"))
    a, tol = targets.paper_area_saving, targets.area_tolerance
    if rows:  # the die does not depend on the workload: one check
        r = rows[0]
        checks.append(Check("area saving", abs(r.area_saving / a - 1) <= tol,
                            f"{r.area_saving:.2f}×", f"{a:g}× ± {tol:.0%}"))
    return checks


def speedup_span(rows: list[WorkloadResult], targets: Targets = Targets()) -> float:
    """Fraction of the paper's speedup range covered by [min, max] of the measured speedups."""
    if not rows:
        return 0.0
    p_lo, p_hi = targets.paper_speedup
    lo = max(p_lo, min(r.speedup for r in rows))
    hi = min(p_hi, max(r.speedup for r in rows))
    return max(0.0, hi - lo) / (p_hi - p_lo)


def _span_check(rows: list[WorkloadResult], targets: Targets) -> Check:
    span = speedup_span(rows, targets)
    p_lo, p_hi = targets.paper_speedup
    return Check("speedups span the paper's range", span >= targets.speedup_span_fraction,
                 f"{span:.0%} of {p_lo:g}–{p_hi:g}×", f"≥ {targets.speedup_span_fraction:.0%}")


def run_validation(traces: Mapping[str, str | os.PathLike], config: Any = None,
                   targets: Targets = Targets(),
                   on_result: Callable[[WorkloadResult], None] | None = None,
                   against_paper: bool = False) -> Validation:
    """Simulate each workload's trace on ``config``; check plausibility (and the paper's
    bands when ``against_paper``)."""
    from tlm.app.plausibility import plausibility_checks
    cfg = resolve_config(config)
    rows, hashes = [], {}
    for name, path in traces.items():
        results, wall_s = simulate_timed(path, cfg)
        rows.append(workload_result(results, wall_s))
        hashes[rows[-1].workload] = content_sha256(path)
        if on_result is not None:
            on_result(rows[-1])
    effective = cfg.effective().flat()
    checks = plausibility_checks(rows, effective)
    if against_paper:
        checks += check_targets(rows, targets)
    return Validation(rows, checks, targets, hashes, effective)


# ------------------------------------------------------------------ ablations

# Each mechanism removed in turn (config overrides on top of the configuration).
# "sparse accumulate" PEs replace the LUTs but still skip zero spikes (and zero du
# groups); "plain" PEs are conventional accumulators that visit every input.
ABLATIONS: dict[str, dict[str, Any]] = {
    "all mechanisms": {},
    "FE sparse accumulate": {"fe.mode": "accumulate"},
    "FE plain PEs": {"fe.mode": "accumulate", "fe.skip_zero_patterns": False},
    "WUE sparse accumulate": {"wue.mode": "accumulate"},
    "WUE plain PEs": {"wue.mode": "accumulate", "wue.skip_zero_patterns": False,
                      "wue.skip_zero_groups": False},
    "BE dense": {"be.sparsity": "dense"},
    "BE input only": {"be.sparsity": "input"},
    "BE output only": {"be.sparsity": "output"},
    "BE static lanes": {"be.lane_mapping": "neuron"},
    "serial pipeline": {"pipeline.mode": "serial"},
}


@dataclass(frozen=True)
class AblationRow:
    workload: str
    variant: str
    result: WorkloadResult
    slowdown: float        # this variant's time / the full design's time
    energy_ratio: float    # this variant's energy / the full design's energy
    modelled_energy_ratio: float  # the same, first-principles energy (no calibration power)


def with_overrides(cfg: SystemConfig, overrides: Mapping[str, Any]) -> SystemConfig:
    return config_from_dict({**cfg.flat(), **overrides})


def run_ablations(traces: Mapping[str, str | os.PathLike], config: Any = None,
                  variants: Mapping[str, Mapping[str, Any]] = ABLATIONS,
                  on_result: Callable[[str, str], None] | None = None) -> list[AblationRow]:
    """Full runs of every variant on every workload (mechanisms change what engines do)."""
    cfg = resolve_config(config)
    rows: list[AblationRow] = []
    for workload, path in traces.items():
        base: WorkloadResult | None = None
        for variant, overrides in variants.items():
            results, wall_s = simulate_timed(path, with_overrides(cfg, overrides))
            result = workload_result(results, wall_s)
            base = base or result
            rows.append(AblationRow(workload, variant, result, result.seconds / base.seconds,
                                    result.energy_j / base.energy_j,
                                    result.modelled_energy_j / base.modelled_energy_j))
            if on_result is not None:
                on_result(workload, variant)
    return rows


# ---------------------------------------------------------------- sensitivity

DRAM_TOTAL_GBPS = (32, 64, 128, 256, 512, 1024)
LUT_KS = (2, 3, 4, 5, 6, 7, 8)
KNEE_GAIN = 0.05   # the next step buys less than 5 % speed: past the knee


@dataclass(frozen=True)
class SweepPoint:
    workload: str
    parameter: str        # "DRAM GB/s" | "LUT k"
    value: float
    result: WorkloadResult
    memory_stall_share: float   # memory stall / (busy + memory stall), all engines together
    bound: str                  # "bandwidth" | "compute"
    relative_speed: float       # this point's speed / the fastest point of its sweep


@dataclass(frozen=True)
class Sweep:
    workload: str
    parameter: str
    points: list[SweepPoint]
    knee: float | None          # first value past which one more step gains < KNEE_GAIN
    fastest: float              # the value with the shortest run


def memory_stall_share(results: Results) -> float:
    busy = sum(e["busy"] for e in results.engines.values())
    stall = sum(e["stall_memory"] for e in results.engines.values())
    return stall / (busy + stall) if busy + stall else 0.0


def _point(workload: str, parameter: str, value: float, results: Results,
           wall_s: float) -> SweepPoint:
    share = memory_stall_share(results)
    return SweepPoint(workload, parameter, value, workload_result(results, wall_s), share,
                      "bandwidth" if share >= 0.5 else "compute", 0.0)


def finish_sweep(workload: str, parameter: str, points: list[SweepPoint]) -> Sweep:
    """Fill in relative speeds and find the knee (where the next step stops paying)."""
    fastest = min(p.result.seconds for p in points)
    done = [SweepPoint(p.workload, p.parameter, p.value, p.result, p.memory_stall_share,
                       p.bound, fastest / p.result.seconds) for p in points]
    knee = None
    for a, b in zip(done, done[1:]):
        if a.result.seconds / b.result.seconds - 1 < KNEE_GAIN:
            knee = a.value
            break
    best = min(done, key=lambda p: p.result.seconds).value
    return Sweep(workload, parameter, done, knee, best)


def dram_sweep(trace: str | os.PathLike, cfg: SystemConfig,
               totals_gbps: Iterable[float] = DRAM_TOTAL_GBPS) -> Sweep:
    """Total DRAM bandwidth sweep: record the transaction stream once, replay per point."""
    with load_trace(trace) as reader, tempfile.TemporaryDirectory() as tmp:
        runs = run_iterations(reader, cfg, record=True)
        stream = Path(tmp) / "stream.h5"
        record_stream(stream, reader.meta, cfg, runs, str(trace))
        channels = runs[0].dram.stats.channels
        workload = reader.meta.workload
        points = []
        for total in totals_gbps:
            start = time.perf_counter()
            per_channel = f"dram.peak_gbps_per_channel={total / channels:g}"
            meta, pcfg, pruns = replay_runs(stream, None, [f"dram.channels={channels}",
                                                           per_channel])
            results = build_results(meta, pcfg, pruns)
            points.append(_point(workload, "DRAM GB/s", total, results,
                                 time.perf_counter() - start))
    return finish_sweep(workload, "DRAM GB/s", points)


def lut_sweep(trace: str | os.PathLike, cfg: SystemConfig, ks: Iterable[int] = LUT_KS) -> Sweep:
    """fe.lut_k and wue.lut_k together; full runs (k changes what the engines compute)."""
    points = []
    workload = ""
    for k in ks:
        results, wall_s = simulate_timed(trace, with_overrides(cfg, {"fe.lut_k": k,
                                                                     "wue.lut_k": k}))
        workload = results.workload["name"]
        points.append(_point(workload, "LUT k", k, results, wall_s))
    return finish_sweep(workload, "LUT k", points)
