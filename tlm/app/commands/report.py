"""``h2learn report`` and ``h2learn compare``: read saved JSON results and show them.

``report RESULTS.json`` re-renders the terminal report of a finished run;
``compare A.json B.json [...]`` lines the files up against the first. A file
that is missing, not JSON, of another schema major version or lacking fields
is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from reports.compare import render_comparison
from reports.findings import derive_findings
from reports.render import render_report
from reports.results import SCHEMA_VERSION, Results
from reports.export import RESULTS_MAX_BYTES
from reports.schema_check import results_errors
from traces.files import read_regular_text


# what well-formed JSON of the wrong shape raises deep inside rendering: one line, not a trace
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError)


class ResultsFileError(Exception):
    """A results file that cannot be read; the message names the file and the problem."""


def required_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(Results)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]


def check_version(path: Path, data: dict[str, Any]) -> None:
    version = data.get("schema_version")
    if not isinstance(version, str):
        raise ResultsFileError(f"{path}: no schema_version: not an h2learn results file")
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ResultsFileError(f"{path}: schema_version {version}, this h2learn reads major "
                               f"version {SCHEMA_VERSION.split('.')[0]} ({SCHEMA_VERSION})")


# results nest four levels deep (layers[i].ops.name); counts stay far below 1e30
MAX_DEPTH = 8
MAX_MAGNITUDE = 1e30
_TOP_TYPES = {"str": str, "int": int, "float": (int, float), "dict": dict, "list": list}


def _check_value(file: Path, where: str, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ResultsFileError(f"{file}: {where}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_value(file, f"{where}.{key}", item, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(file, f"{where}[{i}]", item, depth + 1)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not abs(value) <= MAX_MAGNITUDE:  # also refuses nan (JSON NaN)
            raise ResultsFileError(f"{file}: {where}: {value!r} is not a plausible number")


def check_types(file: Path, data: dict[str, Any]) -> None:
    """Each top-level field of the type the Results schema declares; values bounded."""
    for f in dataclasses.fields(Results):
        if f.name not in data or data[f.name] is None:
            continue
        base = str(f.type).split("[")[0]
        wanted = _TOP_TYPES.get(base)
        value = data[f.name]
        if wanted is not None and (not isinstance(value, wanted) or isinstance(value, bool)):
            raise ResultsFileError(f"{file}: {f.name}: expected {base}, found "
                                   f"{type(value).__name__}")
        _check_value(file, f.name, value, 1)


def minor_version(version: Any) -> int:
    parts = str(version).split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def check_schema(file: Path, data: dict[str, Any]) -> None:
    """The documented results schema (reports/results.schema.json), checked before anything
    renders. A file of an older minor version may lack keys added since; nothing else is
    forgiven (a wrong type, an unknown key or phase name is one line, not half a report)."""
    older = minor_version(data.get("schema_version")) < minor_version(SCHEMA_VERSION)
    try:
        problems = results_errors(data)
    except RecursionError:
        raise ResultsFileError(f"{file}: JSON nested too deeply for a results file") from None
    for problem in problems:
        if not (older and ": missing key " in problem):
            where = problem.removeprefix("$.").removeprefix("$: ")
            raise ResultsFileError(f"{file}: {where} (results schema)")


def read_results(path: str) -> Results:
    """A Results from a JSON file, checked well enough to render."""
    file = Path(path)
    try:
        data = json.loads(read_regular_text(file, RESULTS_MAX_BYTES))
    except OSError as exc:
        raise ResultsFileError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFileError(f"{file}: not a JSON results file ({exc})") from None
    except RecursionError:
        raise ResultsFileError(f"{file}: JSON nested too deeply for a results file") from None
    if not isinstance(data, dict):
        raise ResultsFileError(f"{file}: expected a JSON object of results")
    check_version(file, data)
    missing = [name for name in required_fields() if name not in data]
    if missing:
        raise ResultsFileError(f"{file}: missing field(s) {', '.join(missing)}")
    check_types(file, data)
    check_schema(file, data)
    results = Results.from_dict(data)
    if not results.findings:  # files written before findings were stored
        results.findings = derive_findings(results)
    return results


def print_whole(draw: Callable[[Console], None]) -> None:
    """Render the whole output first, then print it: a file that fails half-way through
    rendering prints nothing but its one error line (never half a report)."""
    console = Console()
    with console.capture() as captured:
        draw(console)
    console.file.write(captured.get())
    console.file.flush()


def report(args: argparse.Namespace) -> int:
    try:
        results = read_results(args.results)
        print_whole(lambda console: render_report(results, console))
    except ResultsFileError as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    except MALFORMED as exc:  # well-formed JSON, wrong contents
        print(f"h2learn: error: {args.results}: malformed results ({exc!r})", file=sys.stderr)
        return 2
    return 0


def say_different_workloads(runs: list[Results], paths: list[str]) -> None:
    """compare lines up numbers; say so when they are not of the same workload."""
    names = [str(r.workload.get("name", "?")) if isinstance(r.workload, dict) else "?" for r in runs]
    for path, name in zip(paths[1:], names[1:]):
        if name != names[0]:
            print(f"h2learn: note: {path} is workload {name}, {paths[0]} is {names[0]}: "
                  "the changes compare different workloads", file=sys.stderr)


def compare(args: argparse.Namespace) -> int:
    try:
        runs = [read_results(path) for path in args.results]
        print_whole(lambda console: render_comparison(runs, args.results, console))
        say_different_workloads(runs, args.results)
    except ResultsFileError as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    except MALFORMED as exc:
        print(f"h2learn: error: malformed results ({exc!r})", file=sys.stderr)
        return 2
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report", help="re-render the report of a saved JSON results file",
        description="Render the terminal report of a results file written by "
                    "'h2learn run --json'.")
    parser.add_argument("results", metavar="RESULTS.json",
                        help="from `h2learn run --json` or `h2learn replay --json`")
    parser.set_defaults(func=report)
    parser = commands.add_parser(
        "compare", help="compare saved results files side by side",
        description="Show two or more results files side by side with each one's relative "
                    "change against the first, the largest changes first.")
    parser.add_argument("results", metavar="RESULTS.json", nargs="+",
                        help="two or more results files; the first is the baseline")
    parser.set_defaults(func=check_count)


def check_count(args: argparse.Namespace) -> int:
    if len(args.results) < 2:
        print("h2learn: error: compare needs at least two results files", file=sys.stderr)
        return 2
    return compare(args)
