"""Blocks from ``h2learn validate --sensitivity --json`` and the reference traces it builds.

docs/faithfulness.md (predictions, checks, ablations, sensitivity, power, the
LUT-vs-accumulate run), docs/assumptions.md (calibration, power, training of
the reference traces) and docs/determinism.md (the traces' hashes). The
report is the JSON object validate prints; ``ctx.validate()`` runs it once (or
reads ``--validate-json``).
"""

from __future__ import annotations

import math
import platform
import statistics
import subprocess
import sys
from typing import Any

from docblocks import ROOT, hashes, md_table


def trace_hashes(report: dict) -> dict[str, str]:
    return {w["workload"]: w["trace_content_sha256"] for w in report["workloads"]}


def validate_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    report = ctx.validate()
    bodies = {"predictions": predictions(report), "checks": checks(report),
              "ablations": ablations(report), "sensitivity": sensitivity(report),
              "calibration": calibration(report), "power": power(report),
              "hashes": hash_table(report, ctx), "training": training(ctx)}
    return bodies, "reference traces " + hashes(trace_hashes(report))


def predictions(report: dict) -> str:
    paper = report["paper"]
    rows = [[w["workload"], f"{w['batch']}×{w['timesteps']}",
             f"`{w['trace_content_sha256'][:16]}`",
             f"{w['speedup']:.2f}×", f"{w['energy_saving']:.1f}×", f"{w['area_saving']:.2f}×",
             f"{w['power_w']:.2f}", f"{w['power_density_w_per_mm2']:.3f}"]
            for w in report["workloads"]]
    rows.append(["paper (V100)", "", "", "{}–{}×".format(*paper["paper_speedup"]),
                 "{}–{}×".format(*paper["paper_energy_saving"]),
                 f"{paper['paper_area_saving']}×", "", ""])
    return md_table(["workload", "B×T", "trace content sha256 (first 16)", "speedup",
                     "energy saving", "area saving", "power W", "W/mm²"], rows)


def ablations(report: dict) -> str:
    rows = [[a["workload"], a["variant"], f"{a['slowdown']:.3f}", f"{a['energy_ratio']:.3f}"]
            for a in report["ablations"] if a["variant"] != "all mechanisms"]
    return md_table(["workload", "variant", "time ×", "energy ×"], rows)


def checks(report: dict) -> str:
    failed = [c for c in report["checks"] if not c["passed"]]
    head = f"Checks: {len(report['checks']) - len(failed)} of {len(report['checks'])} pass"
    return head + "".join(f"; FAIL: {c['name']} ({c['measured']})" for c in failed) + "."


def sensitivity(report: dict) -> str:
    rows = [[r["workload"], r["assumption"], f"{r['value']:g}", f"{r['speedup']:.2f}×",
             f"{r['energy_saving']:.1f}×", f"{r['power_w']:.2f}"] for r in report["sensitivity"]]
    for s in report["sweeps"]:
        points = ", ".join(f"{p['value']:g}: {p['speedup']:.2f}×" for p in s["points"])
        rows.append([s["workload"], f"{s['parameter']} (speedup)", points, "", "", ""])
    return md_table(["workload", "assumption", "value", "speedup", "energy saving", "power W"],
                    rows)


def calibration(report: dict) -> str:
    """The constant power that puts each workload's energy saving at the paper range's
    geometric middle, and the median over workloads (what the calibrated profile uses)."""
    lo, hi = report["paper"]["paper_energy_saving"]
    target = math.sqrt(lo * hi)
    needed = [w["gpu_energy_j"] / target / w["seconds"] - w["modelled_energy_j"] / w["seconds"]
              for w in report["workloads"]]
    per = ", ".join(f"{w['workload']} {p:.0f} W" for w, p in zip(report["workloads"], needed))
    return (f"Constant power for an energy saving of {target:.2f}× (the geometric middle of "
            f"{lo}–{hi}×): {per}; median {statistics.median(needed):.0f} W.")


def power(report: dict) -> str:
    """The die, its power and the GPU's, and what the paper's ratios imply."""
    w = report["workloads"]
    paper = report["paper"]
    gpu = [x["gpu_energy_j"] / x["gpu_seconds"] for x in w]
    ratio = [s / e for s, e in zip(paper["paper_speedup"], paper["paper_energy_saving"])]
    span = lambda values, fmt: f"{min(values):{fmt}}–{max(values):{fmt}}"  # noqa: E731
    return (f"The model's die is {w[0]['area_mm2']:.1f} mm² (area saving "
            f"{w[0]['area_saving']:.2f}×); on the reference workloads it draws "
            f"{span([x['power_w'] for x in w], '.1f')} W "
            f"({span([x['power_density_w_per_mm2'] for x in w], '.3f')} W/mm²), against a V100 "
            f"drawing {span(gpu, '.0f')} W while it trains them; the savings are "
            f"{span([x['speedup'] for x in w], '.1f')}× in time and "
            f"{span([x['energy_saving'] for x in w], '.0f')}× in energy. The paper's ranges "
            f"(energy saving = speedup × P_gpu / P_h2learn) imply an H2Learn drawing "
            f"{min(ratio):.2f}–{max(ratio):.2f}× the GPU's power.")


def hash_table(report: dict, ctx: Any) -> str:
    import h5py
    import numpy
    from traces.recipes import cached_path, reference_recipe
    rows = [[w, f"`{cached_path(reference_recipe(w), ctx.cache).name}`", f"`{sha}`"]
            for w, sha in trace_hashes(report).items()]
    return (md_table(["workload", "cache file", "content sha256"], rows) + "\n\nThe refresh "
            f"that wrote this table ran with numpy {numpy.__version__} and h5py "
            f"{h5py.__version__} (HDF5 {h5py.version.hdf5_version}) on {platform.machine()}.")


def training(ctx: Any) -> str:
    """Each reference trace's recipe and its loss and accuracy, from the cache's sidecars."""
    from traces.recipes import REFERENCE_RECIPES, cached_path, read_provenance
    rows = []
    for name, recipe in REFERENCE_RECIPES.items():
        side = read_provenance(cached_path(recipe, ctx.cache)) or {}
        history = side.get("history") or []
        if not history:
            rows.append([name, "(no sidecar in the cache)", "", "", ""])
            continue
        tail = history[-5:]
        loss = statistics.fmean(h["loss"] for h in tail)
        acc = statistics.fmean(h["accuracy"] for h in tail)
        rows.append([name, f"{recipe.train_iterations} at batch {recipe.train_batch}, "
                     f"lr {recipe.lr:g}", f"{side.get('recorded_iteration')}",
                     f"{history[0]['loss']:.3f} → {loss:.3f}",
                     f"{history[0]['accuracy']:.2f} → {acc:.2f}"])
    return md_table(["workload", "training iterations", "recorded iteration",
                     "MSE loss: first → mean of last 5", "batch accuracy: first → last 5"],
                    rows)


def fe_lut_blocks(ctx: Any) -> tuple[dict[str, str], str]:
    """``benchmarks/fe_lut_vs_accumulate.py`` on the cifar10-cifarnet reference trace."""
    from traces.identity import content_sha256
    from traces.recipes import ensure_trace, reference_recipe
    trace = ensure_trace(reference_recipe("cifar10-cifarnet"), ctx.cache)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fe_lut_vs_accumulate.py"),
                           str(trace)], cwd=ROOT, check=True, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if not line.startswith("# h2learn-tlm")]
    body = "```\n" + "\n".join(lines) + "\n```"
    return {"table": body}, f"cifar10-cifarnet trace `{content_sha256(trace)[:12]}`"
