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
    rows = [[str(i), f"`{s.knob}`", f"{s.value}",
             "cheap" if s.reason == "cheap" else "gain per mm²", f"+{s.gain:.1%}",
             f"{s.die_mm2:.1f}"] for i, s in enumerate(steps, 1)]
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
    from dram_interleave import INTERLEAVES, MAPS, REFERENCE_WORKLOADS, measure, workload_trace
    from traces.identity import content_sha256
    from traces.sample import sample_trace_path
    with tempfile.TemporaryDirectory() as tmp:
        traces = {"sample": None} | {w: workload_trace(w, Path(tmp)) for w in REFERENCE_WORKLOADS}
        shas = {"sample": content_sha256(sample_trace_path())} | {
            f"{w} (synthetic)": content_sha256(traces[w]) for w in REFERENCE_WORKLOADS}
        banked = interleave_table(traces, INTERLEAVES, measure)
    orders = field_order_table(MAPS, measure)
    sample_only = "trace " + hashes({"sample": shas["sample"]})
    return {"interleave": banked, "field-order": (orders, sample_only)}, "traces " + hashes(shas)


def _size(nbytes: int) -> str:
    return f"{nbytes} B" if nbytes < 1024 else f"{nbytes >> 10} KiB"


def interleave_table(traces: dict, interleaves: tuple[int, ...], measure) -> str:
    """Cycles per interleave against the default one, and which is fastest."""
    from memory.address_map import DEFAULT_INTERLEAVE_BYTES as default
    rows, fastest = [], []
    for label, trace in traces.items():
        for preset in ("hbm2", "ddr4-3200"):
            got = {il: measure(trace, preset, il) for il in interleaves}
            base = got[default][0]
            cells = [f"{c:,} cycles" if il == default else f"{c / base - 1:+.1%}"
                     for il, (c, _, _) in got.items()]
            hits = f"{got[interleaves[0]][1]:.2f} → {got[interleaves[-1]][1]:.2f}"
            balance = f"{got[interleaves[0]][2]:.2f} → {got[interleaves[-1]][2]:.2f}"
            rows.append([label, preset, *cells, hits, balance])
            best = min(got, key=lambda il: got[il][0])
            fastest.append(f"{label} on {preset} {_size(best)}"
                           + (f" ({got[best][0] / base - 1:+.1%})" if best != default else ""))
    head = [_size(il) + (" (default)" if il == default else "") for il in interleaves]
    table = md_table(["trace", "preset", *head, "row-hit rate, finest → coarsest",
                      "busiest channel / mean, finest → coarsest"], rows,
                     right=set(range(2, 2 + len(interleaves))))
    return f"{table}\n\nFastest: {'; '.join(fastest)}."


def field_order_table(maps: tuple[str, ...], measure) -> str:
    """The sample's cycles per controller field order (and with XOR), against the banked model."""
    from memory.dram_controller import ACCELERATOR_ADDRESS_MAP as default
    rows, notes = [], []
    for preset in ("hbm2", "ddr4-3200"):
        got = {(m, x): measure(None, preset, model="controller", address_map=m, xor_bank=x)
               for m in maps for x in (False, True)}
        best = min(got, key=lambda key: got[key][0])
        cells = []
        for m in maps:
            plain, xor = (f"**{got[(m, x)][0]:,}**" if (m, x) == best else f"{got[(m, x)][0]:,}"
                          for x in (False, True))
            cells.append(f"{plain} (+xor {xor}; balance {got[(m, False)][2]:.2f})")
        rows.append([preset, *cells])
        notes.append(f"{preset}: the controller model with its default map "
                     f"{got[(default, False)][0]:,} cycles, the banked model "
                     f"{measure(None, preset)[0]:,}")
    head = [m + (" (default)" if m == default else "") for m in maps]
    return md_table(["preset", *head], rows) + f"\n\nOn the sample, {'; '.join(notes)}."
