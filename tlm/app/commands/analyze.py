"""``h2learn analyze RESULTS.json``: bandwidth demand vs supply, engine stalls, the bottleneck.

Reads a results file written by ``h2learn run --json`` (or a sweep point's
``results``), so an old run can be analysed without simulating it again.
``--json`` prints the analysis itself as JSON instead of the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from reports.analysis import AnalysisError, analyze, render_analysis
from reports.export import RESULTS_MAX_BYTES
from tlm.app.commands.report import (MALFORMED, ResultsFileError, check_schema, check_types,
                                     print_whole)
from traces.files import read_regular_text


def read_results(path: str) -> dict[str, Any]:
    try:
        data = json.loads(read_regular_text(path, RESULTS_MAX_BYTES))
    except OSError as exc:
        raise AnalysisError(f"cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnalysisError(f"not a JSON file ({exc})") from None
    except RecursionError:
        raise AnalysisError("JSON nested too deeply for a results file") from None
    if not isinstance(data, dict):
        raise AnalysisError("not an h2learn results file (expected a JSON object)")
    try:
        check_types(Path(path), data)  # the same schema checks as report and compare
        check_schema(Path(path), data)
    except ResultsFileError as exc:
        raise AnalysisError(str(exc).removeprefix(f"{Path(path)}: ")) from None
    return data


def run_analyze(args: argparse.Namespace) -> int:
    try:
        results = read_results(args.results)
        analysis = analyze(results)
        if args.json:
            sys.stdout.write(json.dumps(dataclasses.asdict(analysis), indent=2) + "\n")
        else:
            print_whole(lambda console: render_analysis(results, console))
    except (AnalysisError, *MALFORMED) as exc:
        reason = exc if isinstance(exc, AnalysisError) else f"malformed results ({exc!r})"
        print(f"h2learn: error: {args.results}: {reason}", file=sys.stderr)
        return 2
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "analyze", help="bandwidth and stall analysis of a results file",
        description="Per layer and phase, DRAM bandwidth demand against the peak supply; per "
                    "engine, the time stalled on memory, back-pressure and starvation; and "
                    "whether the run is bandwidth-bound or compute-bound, where.")
    parser.add_argument("results", metavar="RESULTS.json", help="from `h2learn run --json`")
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON")
    parser.set_defaults(func=run_analyze)
