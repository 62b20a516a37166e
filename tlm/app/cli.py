"""The ``h2learn`` command: a thin layer over the Python API.

Each command family lives in its own module under ``tlm/app/commands`` and
registers itself with ``add_parser(subparsers)``; its handler returns the exit
code. Expected failures (bad trace, bad config) are one line on stderr and
exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  h2learn run                               simulate the embedded sample trace
  h2learn trace gen --workload mnist-cnn --source trainer --batch 8 -o mnist.h5
  h2learn run mnist.h5 --set dram.preset=ddr4-3200 --json result.json
  h2learn config show                       every parameter, its value and unit
  h2learn completion bash > h2learn.bash    shell completion (bash or zsh)
"""


def package_version() -> str:
    """The installed distribution's version (metadata only: no simulator import)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("h2learn-tlm")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    # Command modules pull in numpy/h5py/simpy; importing them here rather than
    # at module level keeps `h2learn --version` free of that start-up cost.
    from tlm.app.commands import analyze as analyze_cmd
    from tlm.app.commands import completion as completion_cmd
    from tlm.app.commands import config as config_cmd
    from tlm.app.commands import plot as plot_cmd
    from tlm.app.commands import report as report_cmd
    from tlm.app.commands import run as run_cmd
    from tlm.app.commands import sweep as sweep_cmd
    from tlm.app.commands import trace as trace_cmd
    from tlm.app.commands import validate as validate_cmd

    parser = argparse.ArgumentParser(
        prog="h2learn", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Transaction-level model of the H2Learn SNN-training accelerator,\n"
                    "driven by HDF5 traces of BPTT training iterations.")
    parser.add_argument("--version", action="version", version=f"h2learn {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (run_cmd, trace_cmd, config_cmd, report_cmd, sweep_cmd, analyze_cmd, validate_cmd,
                   plot_cmd, completion_cmd):
        module.add_parser(commands)
    return parser


def tolerate_narrow_encodings() -> None:
    """Print '?' for what the terminal's encoding (e.g. PYTHONIOENCODING=ascii) cannot show.

    The reports use ×, ·, box drawing and sparklines; an encoding error on output
    would otherwise be a traceback after the work is done.
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and not str(stream.encoding).lower().startswith("utf"):
            stream.reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    tolerate_narrow_encodings()
    args_in = sys.argv[1:] if argv is None else argv
    if args_in == ["--version"]:  # fast path: answer before building any parser
        print(f"h2learn {package_version()}")
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("h2learn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
