"""Replay vs full simulation: wall time of each and their ratio, on reference workloads.

For each workload, a synthetic trace is generated (cached), simulated once with
``--record`` (the full run), then the recording is replayed on the same config and
on two other DRAM presets. Reports medians over repeats and checks that the replay
on the recorded config reproduces the full run's cycles.

    python benchmarks/replay_speed.py [--workloads mnist-cnn cifar10-cifarnet] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from reports.results import build_results
from tlm.app.api import run_iterations
from tlm.config import SystemConfig
from tlm.app.replay import record_stream, replay
from traces.reader import open_trace
from traces.synthetic import generate_trace
from traces.workloads import get_workload


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def full_run(trace: Path, recording: Path):
    cfg = SystemConfig()
    with open_trace(trace) as reader:
        runs = run_iterations(reader, cfg, record=True)
        record_stream(recording, reader.meta, cfg, runs, str(trace))
        return build_results(reader.meta, cfg, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["mnist-cnn", "cifar10-cifarnet"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "h2learn-bench")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"{'workload':<18}{'full s':>8}{'replay s':>10}{'ratio':>7}  replay on other DRAM (s)")
    for workload in args.workloads:
        trace = args.cache / f"{workload}.h5"
        if not trace.exists():
            generate_trace(trace, get_workload(workload), seed=0)
        recording = args.cache / f"{workload}.stream.h5"
        full = [timed(full_run, trace, recording) for _ in range(args.repeats)]
        same = [timed(replay, recording) for _ in range(args.repeats)]
        assert same[0][1].total_cycles == full[0][1].total_cycles, "replay disagrees"
        others = {p: statistics.median(timed(replay, recording, {"dram.preset": p})[0]
                                       for _ in range(args.repeats))
                  for p in ("ddr4-3200", "lpddr4-3200")}
        full_s = statistics.median(t for t, _ in full)
        replay_s = statistics.median(t for t, _ in same)
        print(f"{workload:<18}{full_s:>8.2f}{replay_s:>10.2f}{full_s / replay_s:>6.1f}x  "
              + ", ".join(f"{p} {s:.2f}" for p, s in others.items()))


if __name__ == "__main__":
    main()
