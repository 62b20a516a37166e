"""Where a replay's time goes, in one process: imports, reading, rebuilding, simulating, report.

    python benchmarks/replay_phases.py RECORDING.h5 [--repeats 3]

RECORDING.h5 is written by ``h2learn run TRACE --record RECORDING.h5``. Imports are
timed in the first repeat only (later ones find the modules loaded); the other
phases are medians. Run it with bytecode caches (no PYTHONDONTWRITEBYTECODE) to
see imports as an installed package has them.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import time

START = time.perf_counter()
from rich.console import Console  # noqa: E402

from reports.render import render_report  # noqa: E402
from reports.results import build_results  # noqa: E402
from tlm.app.replay import TABLES, from_tables, recording_meta  # noqa: E402
from tlm.system import simulate_programs  # noqa: E402
from traces.txstream import open_stream  # noqa: E402

IMPORT_S = time.perf_counter() - START
gc.freeze()  # as `h2learn replay` does after its imports (tlm/app/commands/run.py)


def phases(path: str) -> dict[str, float]:
    marks = [time.perf_counter()]
    with open_stream(path) as stream:  # as `h2learn replay` reads it: one probe, one open
        meta, cfg, vocab = recording_meta(path, stream.header)
        tables = list(stream.tables(TABLES))
    marks.append(time.perf_counter())
    programs = [from_tables(t, vocab) for t in tables]
    marks.append(time.perf_counter())
    runs = [simulate_programs(p, cfg) for p in programs]
    marks.append(time.perf_counter())
    results = build_results(meta, cfg, runs)
    marks.append(time.perf_counter())
    render_report(results, Console(file=io.StringIO(), width=80))
    marks.append(time.perf_counter())
    names = ("read", "rebuild programs", "simulate", "results", "report")
    return {name: b - a for name, a, b in zip(names, marks, marks[1:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    samples = [phases(args.recording) for _ in range(args.repeats)]
    print(f"imports            {IMPORT_S:.3f} s")
    for name in samples[0]:
        print(f"{name:<18} {statistics.median(s[name] for s in samples):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
