"""The ``h2learn`` command: a thin layer over the Python API.

Each command family lives in its own module under ``tlm/app/commands`` and
registers itself with ``add_parser(subparsers)``; its handler returns the exit
code. Expected failures (bad trace, bad config) are one line on stderr and
exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType

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


class VersionAction(argparse.Action):
    """``--version`` that reads the package metadata only when asked (about 30 ms)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show program's version number and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"h2learn {package_version()}")
        parser.exit()


# command -> (module under tlm/app/commands that registers it, its one-line help).
# A command module pulls in numpy/h5py/simpy/rich; only the module of the command
# being run is imported, the others are listed from this table (tests/test_startup.py
# checks it against the modules' own help lines).
COMMANDS = {
    "run": ("run", "simulate a trace and print the report"),
    "replay": ("run", "re-time a recorded transaction stream on another memory system"),
    "trace": ("trace", "make, inspect and check BPTT trace files"),
    "config": ("config", "show the hardware configuration"),
    "report": ("report", "re-render the report of a saved JSON results file"),
    "compare": ("report", "compare saved results files side by side"),
    "sweep": ("sweep", "simulate a grid of configurations × traces in parallel"),
    "analyze": ("analyze", "bandwidth and stall analysis of a results file"),
    "validate": ("validate", "reference workloads vs the paper's headline results"),
    "dram": ("dram", "run a DRAM request stream through the command-level model"),
    "plot": ("plot", "draw a figure (PNG, SVG, PDF) from results, a timeline or a sweep"),
    "completion": ("completion", "print a shell completion script (bash or zsh)"),
}


def build_parser(command: str | None = None, lazy: bool = False) -> argparse.ArgumentParser:
    """The full parser; with ``lazy``, only ``command``'s module is imported (others: help only)."""
    parser = argparse.ArgumentParser(
        prog="h2learn", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Transaction-level model of the H2Learn SNN-training accelerator,\n"
                    "driven by HDF5 traces of BPTT training iterations.")
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = {module for name, (module, _) in COMMANDS.items() if not lazy or name == command}
    for name, (module, help_line) in COMMANDS.items():
        if name in commands.choices:
            continue
        if module in wanted:
            command_module(module).add_parser(commands)
        else:
            commands.add_parser(name, help=help_line)
    return parser


def command_module(name: str) -> ModuleType:
    """Import one command module; each import is written out so the layer check sees it."""
    if name == "run":
        from tlm.app.commands import run as module
    elif name == "trace":
        from tlm.app.commands import trace as module
    elif name == "config":
        from tlm.app.commands import config as module
    elif name == "report":
        from tlm.app.commands import report as module
    elif name == "sweep":
        from tlm.app.commands import sweep as module
    elif name == "analyze":
        from tlm.app.commands import analyze as module
    elif name == "dram":
        from tlm.app.commands import dram as module
    elif name == "plot":
        from tlm.app.commands import plot as module
    elif name == "completion":
        from tlm.app.commands import completion as module
    else:
        from tlm.app.commands import validate as module
    return module


def first_command(argv: list[str]) -> str | None:
    """The command word of a command line (its first argument that is not an option)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def tolerate_narrow_encodings() -> None:
    """Print '?' for what the output's encoding cannot show.

    The reports use ×, ·, box drawing and sparklines (PYTHONIOENCODING=ascii
    cannot show them), and a name read from a damaged file may hold undecodable
    bytes (surrogates, which not even UTF-8 can write); an encoding error on
    output would otherwise be a traceback after the work is done.
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    tolerate_narrow_encodings()
    args_in = sys.argv[1:] if argv is None else argv
    if args_in == ["--version"]:  # fast path: answer before building any parser
        print(f"h2learn {package_version()}")
        return 0
    parser = build_parser(first_command(args_in), lazy=True)
    args = parser.parse_args(args_in)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe must surface here, not at interpreter exit
        return status
    except KeyboardInterrupt:
        print("h2learn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `h2learn ... | head`: the reader left; stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
