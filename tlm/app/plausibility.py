"""What `h2learn validate` passes or fails on: physical plausibility, not the paper's numbers.

* **Power density**: every workload's average power over the die area at most
  ``POWER_DENSITY_MAX_W_PER_MM2`` = 0.5 W/mm². The V100 itself runs at
  300 W / 815 mm² = 0.37 W/mm² at TDP (NVIDIA V100 datasheet, Volta
  whitepaper); an accelerator that claims more than a third above the
  hottest GPU of its time has an energy model that is wrong, not a good design.
* **Mechanisms matter where the data allow**: each ablated mechanism (a
  variant of ``tlm.app.validate.ABLATIONS``) must change time or energy on a
  workload whose full run skipped work in that mechanism's phase — a
  mechanism that saves nothing where the trace has the sparsity it exploits
  is not modelled.
* **Effective config echoed**: the configuration the results carry has no
  "take the preset's" sentinels (``dram.channels = 0``,
  ``dram.peak_gbps_per_channel = 0``, ``dram.latency_ns = -1``).

Also here: the sensitivity sweeps over the documented assumptions (energy and
GPU knobs a reader may doubt), as ratios per value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from tlm.app.api import resolve_config
from tlm.app.validate import (AblationRow, Check, WorkloadResult, simulate_timed, with_overrides,
                              workload_result)

POWER_DENSITY_MAX_W_PER_MM2 = 0.5
SENTINELS = {"dram.channels": 0, "dram.peak_gbps_per_channel": 0.0, "dram.latency_ns": -1.0}
NO_EFFECT = 1e-9   # |ratio - 1| below this: the mechanism changed nothing

# ablation variant -> the phase whose skipped work shows the trace has its sparsity
MECHANISM_PHASE: dict[str, str] = {
    "FE sparse accumulate": "forward", "FE plain PEs": "forward",
    "WUE sparse accumulate": "weight_update", "WUE plain PEs": "weight_update",
    "BE dense": "backward", "BE input only": "backward", "BE output only": "backward",
    "BE static lanes": "backward",
}

# documented assumption -> (config key, values swept); docs/assumptions.md names each
ASSUMPTIONS: dict[str, tuple[str, tuple[float, ...]]] = {
    "clock tree + control share": ("energy.clock_control_fraction", (0.1, 0.3, 0.5)),
    "GPU launch cost (µs)": ("gpu.launch_us", (2.0, 5.0, 20.0)),
    "SRAM port (B/cycle)": ("sram.port_bytes_per_cycle", (128, 256, 512)),
    "clock (MHz)": ("clock_mhz", (500.0, 1000.0)),
}


def plausibility_checks(rows: Iterable[WorkloadResult], effective: Mapping[str, Any]) -> list[Check]:
    """Power density per workload and the effective-config echo."""
    checks = []
    for r in rows:
        density = r.power_density_w_per_mm2
        checks.append(Check(f"{r.workload} power density", density <= POWER_DENSITY_MAX_W_PER_MM2,
                            f"{density:.3f} W/mm²", f"≤ {POWER_DENSITY_MAX_W_PER_MM2:g} W/mm²"))
    left = [k for k, sentinel in SENTINELS.items() if effective.get(k) == sentinel]
    checks.append(Check("effective config echoed", not left,
                        ", ".join(left) or "no sentinels", "presets resolved"))
    return checks


def ablation_check_name(workload: str, variant: str) -> str:
    """The name of the check that ``variant`` changes something on ``workload``."""
    return f"{workload}: {variant} matters"


def ablation_checks(rows: Iterable[AblationRow],
                    full: Mapping[str, WorkloadResult]) -> list[Check]:
    """Each mechanism changes time or energy wherever its phase skipped work."""
    checks = []
    for row in rows:
        phase = MECHANISM_PHASE.get(row.variant)
        base = full.get(row.workload)
        if phase is None or base is None or base.skipped_by_phase.get(phase, 0) == 0:
            continue
        effect = max(abs(row.slowdown - 1), abs(row.energy_ratio - 1))
        checks.append(Check(ablation_check_name(row.workload, row.variant), effect > NO_EFFECT,
                            f"time {row.slowdown:.3f}×, energy {row.energy_ratio:.3f}×",
                            "≠ 1× (trace has the sparsity)"))
    return checks


@dataclass(frozen=True)
class SensitivityRow:
    workload: str
    assumption: str
    key: str
    value: float
    speedup: float
    energy_saving: float
    power_w: float


def assumption_sweeps(traces: Mapping[str, str | os.PathLike], config: Any = None,
                      assumptions: Mapping[str, tuple[str, tuple[float, ...]]] = ASSUMPTIONS,
                      on_point: Callable[[], None] | None = None) -> list[SensitivityRow]:
    """Every workload × every value of every documented assumption (full runs)."""
    cfg = resolve_config(config)
    rows = []
    for workload, path in traces.items():
        for name, (key, values) in assumptions.items():
            for value in values:
                results, wall_s = simulate_timed(path, with_overrides(cfg, {key: value}))
                r = workload_result(results, wall_s)
                rows.append(SensitivityRow(r.workload, name, key, value, r.speedup,
                                           r.energy_saving, r.power_w))
                if on_point is not None:
                    on_point()
    return rows
