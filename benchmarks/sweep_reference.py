"""The reference sweep: 24 points over two reference workloads on local worker processes, timed.

Grid: dram.preset (hbm2, ddr4-3200) × fe.lut_k (2, 4, 8) × pipeline.mode (serial,
overlap) × traces (mnist-cnn, dvsgesture-cnn synthetic, default T and batch) =
24 points; everything else at its default. Traces are generated once into a cache folder; the sweep starts
fresh each time (no resume) in a temporary output folder, or in --out.

Reports the sweep's wall time, the sum of the points' own simulation times
(what one process would have needed, minus start-up) and the parallel speed-up,
then the ranked table.

    python benchmarks/sweep_reference.py [--jobs 2] [--metric speedup] [--cache DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console

from tlm.app.sweep_view import render_sweep, sweep_view
from tlm.app.sweep import METRICS, SweepSpec, run_sweep

WORKLOADS = ("mnist-cnn", "dvsgesture-cnn")
GRID = {"dram.preset": ["hbm2", "ddr4-3200"], "fe.lut_k": ["2", "4", "8"],
        "pipeline.mode": ["serial", "overlap"]}


def make_trace(workload: str, cache: Path) -> Path:
    from traces.synthetic import generate_trace
    from traces.workloads import get_workload
    path = cache / f"{workload}.h5"
    if not path.exists():
        generate_trace(path, get_workload(workload), seed=0)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--metric", choices=list(METRICS), default="total_cycles")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "h2learn-bench")
    parser.add_argument("--out", type=Path, help="sweep folder (default: a temporary one)")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    args.cache.mkdir(parents=True, exist_ok=True)
    traces = [str(make_trace(w, args.cache)) for w in WORKLOADS]
    spec = SweepSpec(traces=list(traces), grid={k: list(v) for k, v in GRID.items()})
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "sweep"
        outcome = run_sweep(spec, out, jobs=args.jobs, resume=False)
    point_seconds = sum(r["wall_seconds"] for r in outcome.records)
    console = Console()
    render_sweep(sweep_view(outcome.records, list(GRID), spec.dimensions(), args.metric),
                 console, title=f"Reference sweep ranked by {args.metric}")
    console.print(f"{len(outcome.points)} points ({len(outcome.failed)} failed) on "
                  f"{args.jobs} processes: wall {outcome.wall_seconds:.1f} s; points' own "
                  f"simulation time {point_seconds:.1f} s "
                  f"(mean {point_seconds / len(outcome.points):.2f} s); parallel speed-up "
                  f"{point_seconds / outcome.wall_seconds:.2f}x")


if __name__ == "__main__":  # worker processes re-import this file: run only as a script
    main()
