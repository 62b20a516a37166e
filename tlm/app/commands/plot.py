"""``h2learn plot``: a figure from a results file, a timeline or a sweep folder.

    h2learn plot results.json -o summary.pdf                 # three panels
    h2learn plot results.json --figure bandwidth -o bw.png
    h2learn plot run.json.gz -o timeline.svg                 # from --timeline
    h2learn plot sweeps/lut --metric speedup -o lut.pdf      # from h2learn sweep --out

The format follows the output's extension (.png, .svg, .pdf). Needs the
optional ``plot`` extra (matplotlib).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

RESULTS_CHOICES = ("summary", "engines", "bandwidth", "layers")


def draw(args: argparse.Namespace) -> bytes:
    from tlm.app.plot import (PlotError, figure_bytes, output_format, pyplot, read_json,
                              read_sweep, results_figure, sweep_figure, timeline_figure)
    fmt = output_format(args.output)
    source = Path(args.input)
    plt = pyplot()
    if source.is_dir():
        figure = sweep_figure(plt, read_sweep(source), args.metric)
    else:
        data = read_json(source)
        if "traceEvents" in data:
            figure = timeline_figure(plt, data)
        elif "total_cycles" in data and "engines" in data:
            figure = results_figure(plt, data, args.figure)
        else:
            raise PlotError(f"{source}: neither a results file (h2learn run --json) nor a "
                            "timeline (--timeline)")
    try:
        return figure_bytes(figure, fmt)
    finally:
        plt.close(figure)


def handle(args: argparse.Namespace) -> int:
    from tlm.app.commands.run import OutputError, check_output_path, write_and_say
    from tlm.app.plot import PlotError
    try:
        check_output_path("output", args.output, {Path(args.input).resolve()})
        data = draw(args)
        write_and_say(args.output, data)
    except (PlotError, OutputError) as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    except (KeyError, TypeError) as exc:  # a results file missing a field a panel needs
        print(f"h2learn: error: {args.input}: missing or malformed field {exc}", file=sys.stderr)
        return 2
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    from tlm.app.sweep import METRICS
    parser = commands.add_parser(
        "plot", help="draw a figure (PNG, SVG, PDF) from results, a timeline or a sweep",
        description="Draw a paper-style figure with matplotlib (pip install '.[plot]'): from "
                    "a results file, engine time, DRAM bandwidth against peak and per-layer "
                    "phase cycles; from a --timeline file, engine activity over time; from a "
                    "sweep folder, the metric against the swept key(s).")
    parser.add_argument("input", metavar="INPUT",
                        help="results .json, timeline .json[.gz] or sweep --out folder")
    parser.add_argument("-o", "--output", required=True, metavar="FIG.{png,svg,pdf}",
                        help="figure file; the extension chooses the format")
    parser.add_argument("--figure", choices=RESULTS_CHOICES, default="summary",
                        help="for a results file: one panel, or all three (default: summary)")
    parser.add_argument("--metric", choices=list(METRICS), default="total_cycles",
                        metavar="METRIC",
                        help="for a sweep folder: the metric drawn (default: total_cycles); "
                             "the same choices as `h2learn sweep --metric`")
    parser.set_defaults(func=handle)
