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
from typing import Any

from rich.console import Console

from reports.compare import render_comparison
from reports.findings import derive_findings
from reports.render import render_report
from reports.results import SCHEMA_VERSION, Results
from reports.export import RESULTS_MAX_BYTES
from traces.files import read_regular_text


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


def read_results(path: str) -> Results:
    """A Results from a JSON file, checked well enough to render."""
    file = Path(path)
    try:
        data = json.loads(read_regular_text(file, RESULTS_MAX_BYTES))
    except OSError as exc:
        raise ResultsFileError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFileError(f"{file}: not a JSON results file ({exc})") from None
    if not isinstance(data, dict):
        raise ResultsFileError(f"{file}: expected a JSON object of results")
    check_version(file, data)
    missing = [name for name in required_fields() if name not in data]
    if missing:
        raise ResultsFileError(f"{file}: missing field(s) {', '.join(missing)}")
    results = Results.from_dict(data)
    if not results.findings:  # files written before findings were stored
        results.findings = derive_findings(results)
    return results


def report(args: argparse.Namespace) -> int:
    try:
        results = read_results(args.results)
        render_report(results, Console())
    except ResultsFileError as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError) as exc:  # well-formed JSON, wrong contents
        print(f"h2learn: error: {args.results}: malformed results ({exc!r})", file=sys.stderr)
        return 2
    return 0


def compare(args: argparse.Namespace) -> int:
    try:
        runs = [read_results(path) for path in args.results]
        render_comparison(runs, args.results, Console())
    except ResultsFileError as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError) as exc:
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
