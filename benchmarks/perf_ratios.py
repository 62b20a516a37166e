"""The four speed/memory ratios of issue 11, as whole ``h2learn`` processes.

    python benchmarks/perf_ratios.py [--repeats 3] [--cache DIR]

1. replay / run: ``h2learn run TRACE`` against ``h2learn replay RECORDING`` of the same
   run (mnist-cnn and cifar10-cifarnet at their reference sizes), wall time; and the
   ceiling of that ratio: the run against the least any replay process must do (start
   Python, import h5py, open the recording), which no replay can undercut.
2. peak RSS of ``h2learn run`` on mnist-cnn at batch 80 against batch 10 (T = 20).
3. time at T = 20 against T = 5 (mnist-cnn, batch 10): whole process and simulation
   only (the results' ``simulator.wall_seconds``), per timestep.
4. ``h2learn --version`` and ``--help`` wall time.
5. a six-point DRAM sweep (``--jobs 1``, in one process) over the trace and over its
   recording: seconds per point, from the journal's ``wall_seconds``.
It also prints ``python -X importtime`` totals per command line.

Commands of one comparison run alternately, so machine load hits both alike; each
figure is the median over ``--repeats``. Start-up is measured as a user has it:
with bytecode caches (PYTHONDONTWRITEBYTECODE is removed from the children's
environment). Traces are synthetic (seed 0) and cached in ``--cache``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
H2LEARN = [sys.executable, "-m", "tlm"]
# what every replay must do before anything else: a replay's lower bound
FLOOR = [sys.executable, "-c", "import sys, h5py; h5py.File(sys.argv[1], 'r').close()"]


def measure(args: list[str], command: list[str] = H2LEARN) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of one child process ``command + args``."""
    start = time.perf_counter()
    child = subprocess.Popen(command + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=ENV)
    out = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall_s = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command + args)}: exit {child.returncode}")
    return wall_s, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def alternate(commands: dict[str, list[str]], repeats: int) -> dict[str, list[tuple]]:
    """``h2learn`` command lines by name (the name ``floor``: a ``FLOOR`` argument list)."""
    samples: dict[str, list[tuple]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, args in commands.items():
            samples[name].append(measure(args, FLOOR if name == "floor" else H2LEARN))
    return samples


def median(samples: list[tuple], field: int) -> float:
    return statistics.median(s[field] for s in samples)


def trace(cache: Path, workload: str, batch: int | None = None, timesteps: int | None = None) -> Path:
    path = cache / f"{workload}-b{batch or 'ref'}-t{timesteps or 'ref'}.h5"
    if not path.exists():
        extra = (["--batch", str(batch)] if batch else []) + (["--timesteps", str(timesteps)]
                                                             if timesteps else [])
        measure(["trace", "gen", "--workload", workload, "-o", str(path), *extra])
    return path


def replay_ratio(cache: Path, repeats: int) -> None:
    for workload in ("mnist-cnn", "cifar10-cifarnet"):
        path = trace(cache, workload)
        recording = path.with_suffix(".stream.h5")
        measure(["run", str(path), "--record", str(recording)])
        got = alternate({"run": ["run", str(path)], "replay": ["replay", str(recording)],
                         "floor": [str(recording)]}, repeats)
        run_s, replay_s, floor_s = (median(got[name], 0) for name in ("run", "replay", "floor"))
        print(f"1. {workload:<17} run {run_s:6.2f} s  replay {replay_s:6.2f} s  "
              f"run/replay {run_s / replay_s:5.1f}x  (CPU {median(got['run'], 1):.2f} / "
              f"{median(got['replay'], 1):.2f} s); python + import h5py + open the recording "
              f"{floor_s:.3f} s: no replay beats {run_s / floor_s:.1f}x")


def rss_ratio(cache: Path, repeats: int) -> None:
    paths = {b: trace(cache, "mnist-cnn", batch=b, timesteps=20) for b in (10, 80)}
    got = alternate({b: ["run", str(p), "--json", "-"] for b, p in paths.items()}, repeats)
    small, large = median(got[10], 2), median(got[80], 2)
    print(f"2. mnist-cnn T=20 peak RSS batch 10 {small:.0f} MiB, batch 80 {large:.0f} MiB: "
          f"ratio {large / small:.2f}")


def timestep_ratio(cache: Path, repeats: int) -> None:
    paths = {t: trace(cache, "mnist-cnn", batch=10, timesteps=t) for t in (5, 20)}
    got = alternate({t: ["run", str(p), "--json", "-"] for t, p in paths.items()}, repeats)
    sim = {t: statistics.median(json.loads(s[3])["simulator"]["wall_seconds"] for s in got[t])
           for t in paths}
    whole = {t: median(got[t], 0) for t in paths}
    print(f"3. mnist-cnn B=10 T=20 / T=5: whole process {whole[20] / whole[5]:.2f} "
          f"({whole[5]:.2f} / {whole[20]:.2f} s), simulation {sim[20] / sim[5]:.2f} "
          f"({sim[5] * 1e3 / 5:.1f} / {sim[20] * 1e3 / 20:.1f} ms per timestep)")


def startup(repeats: int) -> None:
    got = alternate({"--version": ["--version"], "--help": ["--help"]}, max(repeats, 5))
    print(f"4. h2learn --version {median(got['--version'], 0):.3f} s, "
          f"--help {median(got['--help'], 0):.3f} s (wall)")


def import_totals(cache: Path) -> None:
    """Sum of the self times ``python -X importtime`` reports for each command line."""
    lines = {"--version": ["--version"], "--help": ["--help"], "run --help": ["run", "--help"],
             "config show": ["config", "show"],
             "replay": ["replay", str(trace(cache, "cifar10-cifarnet").with_suffix(".stream.h5")),
                        "--json", "-"]}
    for name, args in lines.items():
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "tlm", *args], env=ENV,
                              capture_output=True, text=True)
        total_us = sum(int(line.split("|")[0].split(":")[1]) for line in done.stderr.splitlines()
                       if line.startswith("import time:") and "self" not in line)
        print(f"   importtime total  h2learn {name:<12} {total_us / 1e6:.3f} s")


def sweep_points(cache: Path, repeats: int) -> None:
    grid = ["--grid", "dram.preset=hbm2,ddr4-3200,lpddr4-2400", "--grid", "dram.channels=2,4"]
    for workload in ("mnist-cnn", "cifar10-cifarnet"):
        path = trace(cache, workload)
        sources = {"trace": path, "recording": path.with_suffix(".stream.h5")}
        walls: dict[str, list[float]] = {name: [] for name in sources}
        for _ in range(repeats):
            for name, source in sources.items():
                with tempfile.TemporaryDirectory() as out:
                    measure(["sweep", str(source), *grid, "--out", out, "--no-resume"])
                    journal = (Path(out) / "points.jsonl").read_text().splitlines()
                    walls[name] += [json.loads(line)["wall_seconds"] for line in journal]
        per = {name: statistics.median(w) for name, w in walls.items()}
        print(f"5. {workload:<17} DRAM sweep, seconds per point: trace {per['trace']:.3f}, "
              f"recording {per['recording']:.3f}: {per['trace'] / per['recording']:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "h2learn-bench")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    startup(args.repeats)
    replay_ratio(args.cache, args.repeats)
    import_totals(args.cache)
    rss_ratio(args.cache, args.repeats)
    timestep_ratio(args.cache, args.repeats)
    sweep_points(args.cache, args.repeats)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
