"""``h2learn run``: simulate a trace on a configuration and report.

With no TRACE it runs the embedded sample trace. The report goes to stdout;
``--json -`` replaces it with the JSON results; progress goes to stderr and
only appears for runs longer than a second.
"""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console

from reports.export import layers_csv, results_json, write_atomic
from reports.render import render_report
from reports.results import build_results
from reports.timeline import timeline_bytes
from tlm.api import load_trace, run_iterations
from tlm.commands.config import add_config_options, resolve
from tlm.commands.progress import LazyProgress
from tlm.config import ConfigError
from tlm.system import DeadlockError
from traces.errors import TraceError


def run(args: argparse.Namespace) -> int:
    try:
        cfg = resolve(args)
        with load_trace(args.trace) as reader, LazyProgress("simulating") as progress:
            start = time.perf_counter()
            runs = run_iterations(reader, cfg, on_job=progress.advance)
            results = build_results(reader.meta, cfg, runs, time.perf_counter() - start)
            if args.timeline:
                write_atomic(args.timeline, timeline_bytes(runs, args.timeline, cfg.clock_mhz))
    except (ConfigError, TraceError, DeadlockError) as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        text = results_json(results)
        if args.json == "-":
            sys.stdout.write(text)
            return 0
        write_atomic(args.json, text)
    if args.csv:
        write_atomic(args.csv, layers_csv(results))
    render_report(results, Console())
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "run", help="simulate a trace and print the report",
        description="Simulate every training iteration of a trace on H2Learn and report time, "
                    "energy, area, the GPU comparison and where the time goes.")
    parser.add_argument("trace", nargs="?", help="HDF5 trace (default: the embedded sample)")
    add_config_options(parser)
    parser.add_argument("--json", metavar="PATH", help="write JSON results ('-': stdout only)")
    parser.add_argument("--csv", metavar="PATH", help="write per-layer results as CSV")
    parser.add_argument("--timeline", metavar="PATH",
                        help="write a Chrome Trace Event timeline (.json or .json.gz) for Perfetto")
    parser.set_defaults(func=run)
