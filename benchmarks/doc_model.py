"""The cheap generated blocks: the sample run, the GPU baseline, the energy and area tables.

Each function takes the refresh context and returns ``(bodies, inputs)``: the
text of each block by name, and the inputs the provenance line names. All of
them run in seconds (``python benchmarks/refresh_docs.py --check`` compares
them with the committed docs); ``benchmarks/refresh_docs.py`` lists which
document holds which block.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from docblocks import ROOT, md_table


def h2learn(*argv: str) -> str:
    """What ``h2learn ARGV`` prints at 80 columns into a pipe (the report's plain form)."""
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "tlm", *argv], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout


def sample_hash() -> str:
    from traces.identity import content_sha256
    from traces.sample import sample_trace_path
    return content_sha256(sample_trace_path())


# ------------------------------------------------------------------ the sample
def report_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    """``h2learn run`` on the embedded sample, as printed into a pipe at 80 columns."""
    report = h2learn("run").rstrip("\n")
    return ({"sample": f"```\n{report}\n```"},
            f"the embedded sample, content sha256 `{sample_hash()[:12]}`; \"Simulated in\" is "
            f"this machine's wall time, at load {ctx.load}")


def analyze_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    return ({"sample": analyze_statements(ctx)},
            f"the embedded sample, content sha256 `{sample_hash()[:12]}`")


def sample_trace_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    """The sample's content hash and per-layer densities (``h2learn trace info``)."""
    sha = sample_hash()
    return ({"hash": (f"The embedded sample (`traces/data/sample.h5`, `python -m "
                      f"traces.make_sample`) has content sha256 `{sha}`."),
             "densities": sample_densities()}, f"content sha256 `{sha[:12]}`")


def analyze_statements(ctx: Any) -> str:
    """The bottleneck statement of ``h2learn analyze`` on the sample, default and slow DRAM."""
    import json
    lines = []
    slow = ["--set", "dram.peak_gbps_per_channel=0.5"]
    for label, sets in (("the default HBM2", []), ("HBM2 slowed to 0.5 GB/s per channel", slow)):
        path = ctx.workdir / f"analyze-{len(lines)}.json"
        h2learn("run", *sets, "--json", str(path))
        analysis = json.loads(h2learn("analyze", str(path), "--json"))
        command = " ".join(["h2learn run", *sets, "--json r.json && h2learn analyze r.json"])
        lines.append(f"- {label} (`{command}`): \"{analysis['statement']}\"")
    return "\n".join(lines)


def sample_densities() -> str:
    from tlm.app.api import load_trace
    from traces.reader import layer_stats
    with load_trace() as reader:
        stats = layer_stats(reader)
    spans = {name: (min(getattr(s, name) for s in stats), max(getattr(s, name) for s in stats))
             for name in ("firing_rate", "h_density", "du_density")}
    text = ", ".join(f"{name.replace('_', ' ')} {lo:.2f}–{hi:.2f}"
                     for name, (lo, hi) in spans.items())
    return (f"Measured on the trainer's embedded tiny-cnn sample (`h2learn trace info`, "
            f"per layer): {text}.")


# ------------------------------------------------------------------ the GPU
def gpu_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    from reports.gpu import gpu_baseline
    from traces.workloads import WORKLOADS
    reference = ("mnist-cnn", "nmnist-cnn", "cifar10-cifarnet", "dvsgesture-cnn")
    rows = []
    for preset in ("v100", "a100"):
        for name in reference:
            w = WORKLOADS[name]
            g = gpu_baseline(w.network, w.timesteps, w.batch, preset)
            dense = ([f"{g.flops / 1e9:.1f}", f"{g.bytes / 1e9:.2f}"] if preset == "v100"
                     else ["", ""])
            rows.append([f"{name} (T {w.timesteps}, B {w.batch})", preset.upper(),
                         f"{g.seconds * 1e3:.1f} ms", f"{g.energy_j:.2f} J", f"{g.power_w:.0f} W",
                         str(g.kernels_launched), *dense, f"{g.launch_bound_fraction:.0%}"])
    table = md_table(["workload", "GPU", "time", "energy", "average power", "kernels",
                      "dense GFLOP", "GB moved", "launch-bound share of time"], rows)
    return ({"reference": table, "notes": gpu_notes(reference)},
            "the workloads' networks, T and batch")


def gpu_notes(reference: tuple[str, ...]) -> str:
    from reports.gpu import gpu_baseline
    from traces.workloads import WORKLOADS

    def run(name: str, **kw: Any):
        w = WORKLOADS[name]
        return gpu_baseline(w.network, w.timesteps, w.batch, **kw)

    v100 = {name: run(name) for name in reference}
    backward = [g.by_phase_s["backward"] / g.seconds for g in v100.values()]
    m = v100["mnist-cnn"].by_phase_s
    lazy = max(v100, key=lambda n: v100[n].launch_bound_fraction)
    tiny = [(n, run(n)) for n in ("tiny-cnn", "tiny-mlp")]
    sgd, adam = run("cifar10-cifarnet"), run("cifar10-cifarnet", optimizer="adam")
    extra = adam.seconds - sgd.seconds
    return (f"On the V100 the backward phase is {min(backward):.0%}–{max(backward):.0%} of the "
            f"time (mnist-cnn: forward {m['forward'] * 1e3:.1f} ms, backward "
            f"{m['backward'] * 1e3:.1f} ms, SGD {m['optimizer'] * 1e3:.2f} ms). The most "
            f"launch-bound workload ({lazy}) draws the least power, {v100[lazy].power_w:.0f} W; "
            f"the tiny test workloads are almost entirely launch-bound and draw about the idle "
            f"power (" + "; ".join(f"`{n}`: {g.kernels_launched} kernels, "
                                   f"{g.seconds * 1e3:.2f} ms, {g.power_w:.0f} W" for n, g in tiny)
            + f"). `gpu.optimizer = adam` on cifar10-cifarnet adds {extra * 1e3:.1f} ms (the SGD "
            f"step is {sgd.by_phase_s['optimizer'] * 1e3:.2f} ms): {extra / sgd.seconds:.1%} more "
            f"GPU time.")


# ------------------------------------------------------------------ energy and area
def energy_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    from doc_energy import action_table, area_table, lut_macro, prices, sram_fit
    return ({"sram-fit": sram_fit(), "prices": prices(), "actions": action_table(),
             "lut-macro": lut_macro(), "area": area_table()}, "the default configuration")


# ------------------------------------------------------------------ the buffer rule
def buffer_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    from reports.area import area_model
    from tlm.app.buffer_sizing import KIB, WORKING_SETS, size_buffers
    from tlm.app.design_point import DIE_BUDGET_MM2, START
    from tlm.app.validate import REFERENCE_WORKLOADS, with_overrides
    from tlm.config import SystemConfig
    start, cap, sets = size_buffers(with_overrides(SystemConfig(), START), DIE_BUDGET_MM2,
                                    REFERENCE_WORKLOADS)
    rows = [[f"`{r.knob}`", f"{r.size_kib}", WORKING_SETS[r.knob][0], WORKING_SETS[r.knob][1],
             f"{r.need_bytes / KIB:,.0f} KiB: {r.workload} {r.layer}",
             ", ".join(r.over_cap) or "—"] for r in sets]
    intro = (f"Cap {cap} KiB (at {2 * cap} KiB the starting die would not fit "
             f"{DIE_BUDGET_MM2:.1f} mm²); starting die {area_model(start).total_mm2:.1f} mm²; "
             f"working sets of {', '.join(REFERENCE_WORKLOADS)}:\n\n")
    table = md_table(["buffer", "KiB", "kind", "holds", "largest working set (×2 for tiles: "
                      "double buffered)", "layers over it"], rows, right={1})
    return {"buffers": intro + table}, "the reference workloads' shapes, batch and T (no traces)"
