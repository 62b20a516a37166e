"""Start-up cost of the ``h2learn`` command: wall time of ``--version`` and ``--help``.

Runs the two commands alternately (so machine load hits both alike) and prints
the median of each in seconds. Usage: ``python benchmarks/startup.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {"--version": ["--version"], "--help": ["--help"]}


def wall_s(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tlm", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of each command (default 7)")
    repeats = parser.parse_args().repeats
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    samples_s: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeats):
        for name, args in COMMANDS.items():
            samples_s[name].append(wall_s(args))
    for name, times in samples_s.items():
        print(f"h2learn {name:10s} median {statistics.median(times):.3f} s over {repeats} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
