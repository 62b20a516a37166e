"""The validation tables of docs/faithfulness.md and docs/assumptions.md, from one command.

    h2learn validate --sensitivity --json > validate.json
    python benchmarks/docs_tables.py validate.json            # print the tables
    python benchmarks/docs_tables.py validate.json --write    # replace them in docs/

Every number in those two documents' generated blocks — between
``<!-- validate:NAME -->`` and ``<!-- /validate:NAME -->`` — comes from that
JSON, so after a change to the model or to the reference traces the lead
re-runs the two commands above and nothing else. The calibration power that
configs/paper-calibrated.toml uses is printed here too, with how it is derived.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "docs" / "faithfulness.md", ROOT / "docs" / "assumptions.md")


def predictions(report: dict) -> str:
    paper = report["paper"]
    lines = ["| workload | B×T | trace content sha256 (first 16) | speedup | energy saving | "
             "area saving | power W | W/mm² |", "|---|---|---|---|---|---|---|---|"]
    for w in report["workloads"]:
        lines.append(f"| {w['workload']} | {w['batch']}×{w['timesteps']} | "
                     f"`{w['trace_content_sha256'][:16]}` | {w['speedup']:.2f}× | "
                     f"{w['energy_saving']:.1f}× | {w['area_saving']:.2f}× | "
                     f"{w['power_w']:.2f} | {w['power_density_w_per_mm2']:.3f} |")
    lines.append(f"| paper (V100) | | | {paper['paper_speedup'][0]}–{paper['paper_speedup'][1]}× | "
                 f"{paper['paper_energy_saving'][0]}–{paper['paper_energy_saving'][1]}× | "
                 f"{paper['paper_area_saving']}× | | |")
    return "\n".join(lines)


def ablations(report: dict) -> str:
    lines = ["| workload | variant | time × | energy × |", "|---|---|---|---|"]
    for a in report["ablations"]:
        if a["variant"] != "all mechanisms":
            lines.append(f"| {a['workload']} | {a['variant']} | {a['slowdown']:.3f} | "
                         f"{a['energy_ratio']:.3f} |")
    return "\n".join(lines)


def checks(report: dict) -> str:
    failed = [c for c in report["checks"] if not c["passed"]]
    head = f"{len(report['checks']) - len(failed)} of {len(report['checks'])} checks pass"
    return head + "".join(f"; FAIL: {c['name']} ({c['measured']})" for c in failed) + "."


def sensitivity(report: dict) -> str:
    lines = ["| workload | assumption | value | speedup | energy saving | power W |",
             "|---|---|---|---|---|---|"]
    for r in report["sensitivity"]:
        lines.append(f"| {r['workload']} | {r['assumption']} | {r['value']:g} | "
                     f"{r['speedup']:.2f}× | {r['energy_saving']:.1f}× | {r['power_w']:.2f} |")
    for s in report["sweeps"]:
        points = ", ".join(f"{p['value']:g}: {p['speedup']:.2f}×" for p in s["points"])
        lines.append(f"| {s['workload']} | {s['parameter']} (speedup) | {points} | | | |")
    return "\n".join(lines)


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


BLOCKS = {"predictions": predictions, "ablations": ablations, "checks": checks,
          "sensitivity": sensitivity, "calibration": calibration}


def rewrite(text: str, tables: dict[str, str]) -> str:
    for name, table in tables.items():
        # an empty block (the markers on consecutive lines) is filled too
        pattern = re.compile(rf"(<!-- validate:{name} -->\n)(?:.*?\n)?(<!-- /validate:{name} -->)",
                             re.S)
        text = pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="output of `h2learn validate --sensitivity --json`")
    parser.add_argument("--write", action="store_true", help="replace the blocks in docs/")
    args = parser.parse_args(argv)
    try:
        report = json.loads(Path(args.report).read_text())
        tables = {name: make(report) for name, make in BLOCKS.items()}
    except (OSError, ValueError, KeyError) as exc:
        print(f"docs_tables: {args.report}: not a validate --json report ({exc})", file=sys.stderr)
        return 2
    if not args.write:
        for name, table in tables.items():
            print(f"## {name}\n{table}\n")
        return 0
    for path in DOCS:
        path.write_text(rewrite(path.read_text(), tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
