"""Simulator speed on the reference workloads: wall time, cycles, events/s, peak memory.

Each workload's synthetic trace (default T and batch, one iteration) is generated once
into a cache folder, then simulated in a fresh subprocess per repeat so that peak RSS
belongs to that run alone. Reports medians over repeats.

    python benchmarks/simulate_speed.py [--repeats 3] [--workloads mnist-cnn cifar10-cifarnet]
                                        [--set dram.model=bandwidth] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from tlm.app.api import simulate
from tlm.config import load_config
config = load_config(None, sys.argv[2:])
start = time.perf_counter()
results = simulate(sys.argv[1], config)
wall = time.perf_counter() - start
print(json.dumps({"wall_s": wall, "cycles": results.total_cycles,
                  "events": results.simulator["events"], "jobs": results.simulator["jobs"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_trace(workload: str, cache: Path) -> Path:
    from traces.synthetic import generate_trace
    from traces.workloads import get_workload
    path = cache / f"{workload}.h5"
    if not path.exists():
        generate_trace(path, get_workload(workload), seed=0)
    return path


def measure(trace: Path, overrides: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(trace), *overrides],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+",
                        default=["mnist-cnn", "nmnist-cnn", "cifar10-cifarnet", "dvsgesture-cnn"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "h2learn-bench")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"{'workload':<18}{'wall s':>8}{'cycles':>14}{'events':>10}{'events/s':>10}"
          f"{'Mcycles/s':>11}{'peak MB':>9}")
    for workload in args.workloads:
        trace = make_trace(workload, args.cache)
        runs = [measure(trace, args.set) for _ in range(args.repeats)]
        wall = statistics.median(r["wall_s"] for r in runs)
        first = runs[0]
        print(f"{workload:<18}{wall:>8.2f}{first['cycles']:>14,}{first['events']:>10,}"
              f"{first['events'] / wall:>10,.0f}{first['cycles'] / wall / 1e6:>11.2f}"
              f"{max(r['peak_rss_mb'] for r in runs):>9.0f}")


if __name__ == "__main__":
    main()
