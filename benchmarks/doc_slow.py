"""The slow generated blocks: the design-point search, the DRAM calibration and address maps.

docs/design-point.md (``python -m tlm.app.design_point``: tens of minutes on two
cores) and docs/dram.md (``benchmarks/dram_calibration.py`` and
``benchmarks/dram_interleave.py``: minutes each).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from docblocks import ROOT, hashes, md_table


def reference_traces(ctx: Any) -> dict[str, str]:
    from tlm.app.validate import REFERENCE_WORKLOADS
    from traces.recipes import ensure_trace, reference_recipe
    return {n: str(ensure_trace(reference_recipe(n), ctx.cache)) for n in REFERENCE_WORKLOADS}


def design_point_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    from reports.area import area_model
    from tlm.app.buffer_sizing import size_buffers
    from tlm.app.design_point import (DIE_BUDGET_MM2, GPU_DIE_MM2, START, UNITS, cheap_unit_check,
                                      derive, trace_timer)
    from tlm.app.validate import REFERENCE_WORKLOADS, with_overrides
    from tlm.config import SystemConfig
    from traces.identity import content_sha256
    traces = reference_traces(ctx)
    timer = trace_timer(traces)
    start, _, _ = size_buffers(with_overrides(SystemConfig(), START), DIE_BUDGET_MM2,
                               REFERENCE_WORKLOADS)
    cfg, steps = derive(timer, start)
    rows = [[str(i), f"`{s.knob}`", f"{s.value}", "cheap" if s.reason == "cheap" else "gain per mm²",
             f"+{s.gain:.1%}", f"{s.die_mm2:.1f}"] for i, s in enumerate(steps, 1)]
    die = area_model(cfg).total_mm2
    derived = ", ".join(f"`{k}` = {cfg.flat()[k]}" for k in UNITS)
    defaults = SystemConfig().flat()
    off = [f"`{k}` = {defaults[k]}" for k in UNITS if defaults[k] != cfg.flat()[k]]
    agree = ("the defaults in `tlm/config.py` are these values" if not off else
             "the defaults in `tlm/config.py` differ: " + ", ".join(off))
    search = (md_table(["step", "unit doubled", "to", "why", "geomean gain", "die mm²"], rows,
                       right={2, 4, 5})
              + f"\n\nDerived: {derived}; a **{die:.1f} mm²** die, so the predicted area saving "
              f"is {GPU_DIE_MM2:g} / {die:.1f} = {GPU_DIE_MM2 / die:.2f}×; {agree}.")
    check = cheap_unit_check(timer, SystemConfig())
    check_rows = [[f"`{c.knob}`", f"{c.share:.2%}", "not cheap: not simulated" if c.share >= 0.01
                   else f"+{c.worst_gain:.1%} ({c.worst_workload}): "
                        f"{'pass' if c.passed else 'FAIL'}"] for c in check]
    shas = {n: content_sha256(p) for n, p in traces.items()}
    return ({"search": search,
             "check": md_table(["unit", "share of die", "doubled: largest speed-up"], check_rows)},
            "reference traces " + hashes(shas))


def dram_calibration_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    """``python benchmarks/dram_calibration.py``: its table and summary, its header's load."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dram_calibration.py")],
                          cwd=ROOT, check=True, capture_output=True, text=True)
    lines = done.stdout.splitlines()
    header = next((line for line in lines if line.startswith("# h2learn-tlm")), "")
    load = re.search(r"load (\S+)", header)
    body = "\n".join(line for line in lines if line != header).strip("\n")
    return ({"table": body}, "DRAMsim3 reference `benchmarks/data/dram_reference.json`; the "
            f"µs/request column measured at load {load.group(1) if load else 'unknown'}")


def dram_interleave_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    """The banked model's channel interleave and the controller model's field order."""
    from dram_interleave import INTERLEAVES, MAPS, measure, workload_trace
    from traces.identity import content_sha256
    from traces.sample import sample_trace_path
    with tempfile.TemporaryDirectory() as tmp:
        traces = {"sample": None, "mnist-cnn": workload_trace("mnist-cnn", Path(tmp))}
        shas = {"sample": content_sha256(sample_trace_path()),
                "mnist-cnn (synthetic)": content_sha256(traces["mnist-cnn"])}
        banked = interleave_table(traces, INTERLEAVES, measure)
    orders = field_order_table(MAPS, measure)
    return {"interleave": banked, "field-order": orders}, "traces " + hashes(shas)


def interleave_table(traces: dict, interleaves: tuple[int, ...], measure) -> str:
    rows = []
    for label, trace in traces.items():
        for preset in ("hbm2", "ddr4-3200"):
            got = {il: measure(trace, preset, il) for il in interleaves}
            base = got[256][0]
            cells = [f"{c:,} cycles" if il == 256 else f"{c / base - 1:+.1%}"
                     for il, (c, _, _) in got.items()]
            hits = f"{got[interleaves[0]][1]:.2f} → {got[interleaves[-1]][1]:.2f}"
            balance = f"{got[interleaves[0]][2]:.2f} → {got[interleaves[-1]][2]:.2f}"
            rows.append([label, preset, *cells, hits, balance])
    head = [f"{il} B" if il < 1024 else f"{il >> 10} KiB" for il in interleaves]
    return md_table(["trace", "preset", *head, "row-hit rate, finest → coarsest",
                     "busiest channel / mean, finest → coarsest"], rows,
                    right=set(range(2, 2 + len(interleaves))))


def field_order_table(maps: tuple[str, ...], measure) -> str:
    rows = []
    for preset in ("hbm2", "ddr4-3200"):
        got = {(m, x): measure(None, preset, model="controller", address_map=m, xor_bank=x)
               for m in maps for x in (False, True)}
        best = min(c for c, _, _ in got.values())
        cells = []
        for m in maps:
            cycles, _, balance = got[(m, False)]
            text = f"{cycles:,}"
            cells.append(f"{'**' + text + '**' if cycles == best else text} (+xor "
                         f"{got[(m, True)][0]:,}; balance {balance:.2f})")
        rows.append([preset, *cells])
    return md_table(["preset", *maps], rows)
