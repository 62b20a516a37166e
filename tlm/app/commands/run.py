"""``h2learn run`` and ``h2learn replay``: simulate (or re-time) and report.

``run`` simulates a trace (with no TRACE, the embedded sample); ``--record``
also stores its transaction stream. ``replay`` re-times a recorded stream on
another memory configuration without touching the trace. Both print the same
report to stdout; ``--json -`` replaces it with the JSON results; progress goes
to stderr and only appears for runs longer than a second.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Callable

from typing import TYPE_CHECKING

from tlm.app.commands.config import add_config_options, resolve
from tlm.config import ConfigError
from traces.atomic import check_target, say_wrote
from traces.errors import TraceError

if TYPE_CHECKING:
    from reports.results import Results
    from tlm.app.commands.progress import LazyProgress

# The simulator, the reports and rich are imported by the functions that use
# them, so that `h2learn run --help` and a replay load only what they need.


class OutputError(ValueError):
    """An output file that cannot be written."""


def expected_errors() -> tuple[type[Exception], ...]:
    from tlm.system import DeadlockError
    return ConfigError, TraceError, DeadlockError, OutputError


def settle_imports() -> None:
    """Move what exists so far, mostly the modules just imported (hundreds of thousands
    of objects that live until exit), out of the garbage collector's walks: a full
    collection during the run walked them all again, ~50 ms of a cifar10 replay. The
    run's own objects are collected as before; ``execute`` undoes it when done."""
    gc.freeze()


def simulate_trace(args: argparse.Namespace, progress: "LazyProgress") -> tuple[Results, list]:
    from reports.results import build_results
    from tlm.app.api import load_trace, run_iterations
    from tlm.app.replay import record_stream
    from tlm.system import job_count
    settle_imports()
    cfg = resolve(args)
    on_job = progress.advance
    with load_trace(args.trace) as reader:
        progress.set_total(reader.meta.iterations * job_count(reader.meta, cfg))
        start = time.perf_counter()
        if args.jobs > 1 and reader.meta.iterations > 1:
            from tlm.app.parallel import run_parallel
            runs = run_parallel(reader.path, reader.meta.iterations, cfg, args.jobs,
                                lambda jobs: [on_job() for _ in range(jobs)])
        else:
            runs = run_iterations(reader, cfg, on_job=on_job, record=bool(args.record))
        results = build_results(reader.meta, cfg, runs, time.perf_counter() - start,
                                source=reader.path)
        if args.record:
            record_stream(args.record, reader.meta, cfg, runs, args.trace or "<sample>")
            say_wrote(args.record)
    return results, runs


def replay_recording(args: argparse.Namespace, progress: "LazyProgress") -> tuple[Results, list]:
    from reports.results import build_results
    from tlm.app.replay import replay_runs
    settle_imports()
    start = time.perf_counter()
    meta, cfg, runs = replay_runs(args.recording, args.config, args.set, progress.advance)
    return build_results(meta, cfg, runs, time.perf_counter() - start,
                         source=args.recording, source_kind="recording"), runs


def check_outputs(args: argparse.Namespace) -> None:
    """Fail before simulating, not after, when an output file cannot be written."""
    if getattr(args, "jobs", 1) < 1:
        raise OutputError(f"--jobs {args.jobs}: expected at least 1")
    if getattr(args, "jobs", 1) > 1 and getattr(args, "record", None):
        raise OutputError("--jobs and --record: a recording keeps every job of the run in one "
                          "process; record with --jobs 1")
    if getattr(args, "record", None) == "-":
        raise OutputError("--record -: a recording is an HDF5 file and cannot go to stdout; "
                          "give a PATH.h5")
    to_stdout = [o for o in ("json", "csv", "timeline") if getattr(args, o, None) == "-"]
    if len(to_stdout) > 1:
        raise OutputError(f"--{' and --'.join(to_stdout)} all ask for stdout ('-'); "
                          "only one output can go there")
    inputs = {Path(p).resolve() for p in (getattr(args, "trace", None), getattr(args, "recording", None),
                                          getattr(args, "config", None)) if p}
    outputs: dict[Path, str] = {}
    for option in ("json", "csv", "timeline", "record"):
        path = getattr(args, option, None)
        if path is None or path == "-":
            continue
        check_output_path(option, path, inputs)
        target = Path(path).resolve()
        if target in outputs:
            raise OutputError(f"--{option} {path}: the same file as --{outputs[target]}")
        outputs[target] = option


def check_output_path(option: str, path: str, inputs: set[Path]) -> None:
    """One output path: not empty, not an input, and writable by the one atomic writer."""
    if not path.strip():
        raise OutputError(f"--{option}: the path is empty")
    if Path(path).resolve() in inputs:
        raise OutputError(f"--{option} {path}: is an input of this command; refusing to overwrite it")
    try:
        check_target(path)
    except OSError as exc:
        raise OutputError(f"--{option} {path}: {exc.strerror}") from None


def execute(args: argparse.Namespace,
            produce: Callable[[argparse.Namespace, "LazyProgress"], tuple[Results, list]]) -> int:
    """Run ``produce`` with a progress display, then write and render its results."""
    from tlm.app.commands.progress import LazyProgress
    frozen_before = gc.get_freeze_count()
    try:
        check_outputs(args)
        with LazyProgress("simulating") as progress:
            results, runs = produce(args, progress)
        if args.timeline:
            from reports.timeline import timeline_bytes  # numpy, gzip: only when asked for
            data = timeline_bytes(runs, args.timeline, results.config["clock_mhz"])
            if args.timeline == "-":
                sys.stdout.buffer.write(data)
            else:
                write_and_say(args.timeline, data)
        return emit(args, results)
    except expected_errors() as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
    except OSError as exc:  # a full disk or a vanished directory while writing
        print(f"h2learn: error: {exc.filename or ''}: cannot write: {exc.strerror or exc}",
              file=sys.stderr)
    finally:
        if not frozen_before:  # called in-process (tests, scripts): collect all as before
            gc.unfreeze()
    return 2


def write_and_say(path: str, data: str | bytes) -> None:
    """Write one output atomically and say so on stderr (stdout may carry data)."""
    from reports.export import write_atomic
    write_atomic(path, data)
    say_wrote(path)


def emit(args: argparse.Namespace, results: Results) -> int:
    """Write the requested files; print the report, or only the one output named ``-``."""
    from reports.export import layers_csv, results_json
    if args.csv == "-":
        sys.stdout.write(layers_csv(results))
    elif args.csv:
        write_and_say(args.csv, layers_csv(results))
    if args.json == "-":
        sys.stdout.write(results_json(results))
    elif args.json:
        write_and_say(args.json, results_json(results))
    if "-" not in (args.json, args.csv, args.timeline):  # stdout carries data, not the report
        from rich.console import Console  # rich only for the report

        from reports.render import render_report
        render_report(results, Console())
    return 0


def add_output_options(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser)
    parser.add_argument("--json", metavar="PATH", help="write JSON results ('-': stdout only)")
    parser.add_argument("--csv", metavar="PATH", help="write per-layer results as CSV ('-': stdout only)")
    parser.add_argument("--timeline", metavar="PATH",
                        help="write a Chrome Trace Event timeline (.json or .json.gz; '-': "
                             "JSON on stdout only) for Perfetto")


def add_parser(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run", help="simulate a trace and print the report",
        description="Simulate every training iteration of a trace on H2Learn and report time, "
                    "energy, area, the GPU comparison and where the time goes.")
    run.add_argument("trace", nargs="?", help="HDF5 trace (default: the embedded sample)")
    add_output_options(run)
    run.add_argument("--record", metavar="PATH.h5",
                     help="also store the run's transaction stream, for `h2learn replay`")
    run.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="simulate the iterations of a multi-iteration trace in N processes "
                          "(results identical to --jobs 1; default 1)")
    run.set_defaults(func=lambda args: execute(args, simulate_trace))
    replay = commands.add_parser(
        "replay", help="re-time a recorded transaction stream on another memory system",
        description="Replay a stream recorded by `h2learn run --record` on the recorded "
                    "configuration changed by --config/--set (DRAM, SRAM ports, pipeline, clock, "
                    "streaming buffers that keep the tiling), without re-reading the trace.")
    replay.add_argument("recording", help="HDF5 file written by `h2learn run --record`")
    add_output_options(replay)
    replay.set_defaults(func=lambda args: execute(args, replay_recording))
