"""``h2learn sweep``: run a grid of configurations × traces, in parallel, resumably.

    h2learn sweep mnist.h5 --grid dram.preset=hbm2,ddr4-3200 --grid fe.lut_k=2,4,8 --jobs 2

Points are written to ``OUT/points.jsonl`` and ``OUT/points.csv`` as they
finish; running the same command again skips the points already completed ok.
A progress bar goes to stderr, the ranked table (and, for a one-dimensional
sweep, a bar chart) to stdout. Exit code 0 when every point ran, 1 when some
failed, 2 when the sweep itself is invalid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from tlm.app.sweep_view import render_sweep, sweep_view
from tlm.app.api import load_trace
from tlm.app.replay import load_recording
from tlm.config import ConfigError
from tlm.app.sweep import (METRICS, SweepError, SweepOutcome, SweepSpec, add_dimension,
                       load_sweep_file, parse_grid_option, run_sweep)
from traces.atomic import say_wrote
from traces.errors import TraceError
from traces.txstream import is_stream


def build_spec(args: argparse.Namespace) -> SweepSpec:
    """The sweep file (if any), then command-line traces, --config, --set and --grid."""
    spec = load_sweep_file(args.sweep_file) if args.sweep_file else SweepSpec()
    if args.traces:
        spec.traces = list(args.traces)
    if args.config:
        spec.config_file = args.config
    spec.base.extend(args.set)
    for option in args.grid:
        add_dimension(spec.grid, *parse_grid_option(option))
    spec.traces = list(dict.fromkeys(spec.traces))
    return spec


def check_traces(spec: SweepSpec) -> None:
    """Open every trace's (or recording's) header once here, so a missing or foreign file
    is one error, not N failures."""
    for trace in spec.traces:
        if trace is not None and is_stream(trace):
            load_recording(trace)
            continue
        with load_trace(trace):
            pass


def progress_bar() -> Progress:
    """count/total, failures and ETA on stderr; nothing when stderr is not a terminal."""
    console = Console(stderr=True)
    return Progress(TextColumn("sweep"), BarColumn(bar_width=20), MofNCompleteColumn(),
                    TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                    TextColumn("eta"), TimeRemainingColumn(), console=console, transient=True,
                    disable=not console.is_terminal)


def execute(spec: SweepSpec, args: argparse.Namespace) -> SweepOutcome:
    with progress_bar() as progress:
        task = progress.add_task("sweep", total=None, failed=0)
        failed = 0

        def started(to_run: int, resumed: int) -> None:
            progress.update(task, total=to_run)

        def finished(record: dict) -> None:
            nonlocal failed
            failed += record["status"] != "ok"
            progress.update(task, advance=1, failed=failed)

        return run_sweep(spec, args.out, jobs=args.jobs, scheduler=args.scheduler,
                         resume=args.resume, on_start=started, on_record=finished)


def summary(outcome: SweepOutcome, out: str) -> str:
    failed = len(outcome.failed)
    ran = len(outcome.points) - outcome.resumed
    stale = (f" ({outcome.stale} of them stale: trace content or tool changed)"
             if outcome.stale else "")
    return (f"{len(outcome.points)} points: {len(outcome.points) - failed} ok, {failed} failed; "
            f"{ran} run{stale}, {outcome.resumed} resumed from {out}/points.jsonl; "
            f"{outcome.wall_seconds:.1f} s")


def sweep(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        print("h2learn: error: --jobs: expected a positive number of processes", file=sys.stderr)
        return 2
    try:
        spec = build_spec(args)
        check_traces(spec)
        outcome = execute(spec, args)
    except (SweepError, ConfigError, TraceError) as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    console = Console()
    view = sweep_view(outcome.records, list(spec.grid), spec.dimensions(), args.metric)
    render_sweep(view, console, title=f"Sweep ranked by {args.metric}")
    console.print(summary(outcome, args.out))
    for name in ("points.jsonl", "points.csv"):
        if (Path(args.out) / name).is_file():
            say_wrote(Path(args.out) / name)
    return 1 if outcome.failed else 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sweep", help="simulate a grid of configurations × traces in parallel",
        description="Simulate the cartesian product of --grid values (× traces) in parallel "
                    "processes or on a Dask cluster; results are appended to OUT/points.jsonl "
                    "and OUT/points.csv, and a rerun resumes where the last one stopped.")
    parser.add_argument("traces", nargs="*", metavar="TRACE",
                        help="HDF5 traces, or recordings (run --record) whose points replay "
                             "the stream (default: the sweep file's, else the embedded sample)")
    parser.add_argument("--grid", metavar="KEY=V1,V2,...", action="append", default=[],
                        help="a swept parameter and its values (repeatable; one axis each)")
    parser.add_argument("--sweep-file", metavar="FILE",
                        help="TOML sweep: traces = [...], config = ..., [grid] and [set] tables")
    parser.add_argument("--config", metavar="FILE", help="TOML base configuration")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="override one parameter at every point (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=1,
                        help="local worker processes (1: run in this process)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run the points on this Dask scheduler instead of locally")
    parser.add_argument("--out", default="h2learn-sweep", metavar="DIR",
                        help="folder for points.jsonl and points.csv (default: h2learn-sweep)")
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                        help="skip points already completed ok in OUT (default); "
                             "--no-resume runs every point again")
    parser.add_argument("--metric", choices=list(METRICS), default="total_cycles",
                        metavar="METRIC",
                        help="metric the table is ranked by and the plot shows "
                             f"(default: total_cycles); one of {', '.join(METRICS)}")
    parser.set_defaults(func=sweep)
