"""``h2learn dram STREAM``: a request stream through the command-level DRAM model.

The trace-driven mode of DRAMsim3 and Ramulator: one request per line (see
``memory/stream_file.py``), served by one open-page controller per channel
(``memory/controller.py``) under the in-order, head-of-line issue discipline of
``memory/stream.py``. Prints a short summary; ``--json PATH`` writes every
figure, per channel and per bank.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from rich.console import Console

from memory.config import DramConfigError
from memory.field_map import FieldMap
from memory.presets import resolve_dram
from memory.stream import run_stream
from memory.stream_file import StreamFileError, read_stream
from memory.stream_stats import summarize
from reports.export import write_atomic
from reports.tables import data_table
from traces.atomic import check_target, say_wrote
from tlm.app.commands.config import add_config_options
from tlm.config import ConfigError, load_config


class DramModeError(ValueError):
    """A setting the trace-driven mode cannot honour."""


def build(args: argparse.Namespace):
    """(part timing, address map, preset name) from the options."""
    sets = list(args.set) + ([f"dram.preset={args.preset}"] if args.preset else [])
    # the trace-driven mode is the command-level model, whatever dram.model says
    cfg = dataclasses.replace(load_config(args.config, sets).dram, model="controller")
    preset = resolve_dram(cfg)
    part = preset.commands
    if part is None:
        raise DramModeError(f"dram.preset: {preset.name!r} has no command-level timing; "
                            "use ddr4-3200, hbm2, lpddr4-2400, hbm2e or hbm3")
    if cfg.peak_gbps_per_channel > 0 or cfg.latency_ns >= 0:
        raise DramModeError("dram.peak_gbps_per_channel / dram.latency_ns: the command-level "
                            "model runs at the part's own clock and timing; leave them unset")
    if not 1 <= args.request_bytes <= part.burst_bytes:
        raise DramModeError(f"--request-bytes {args.request_bytes}: expected 1..{part.burst_bytes} "
                            f"(one {preset.name} burst)")
    order = cfg.address_map or part.address_map
    try:
        amap = FieldMap(order, preset.channels, part.ranks, part.bank_groups,
                        part.banks_per_group, part.row_bytes // part.burst_bytes,
                        part.burst_bytes, cfg.xor_bank)
    except ValueError as exc:
        raise DramModeError(f"dram.address_map: {exc}") from None
    return part, amap, preset.name


def run_dram(args: argparse.Namespace) -> int:
    try:
        part, amap, name = build(args)
        requests = read_stream(args.stream)
        if args.json and args.json != "-":
            check_target(args.json)  # before the work, naming the user's path
    except (ConfigError, DramConfigError, DramModeError, StreamFileError) as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"h2learn: error: {args.json}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2
    result = run_stream(part, amap, requests.addresses, requests.is_write, requests.issue,
                        request_bytes=args.request_bytes)
    summary = summarize(result, name, amap.order + ("+xor" if amap.xor_bank else ""))
    if args.json == "-":
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
        return 0
    if args.json:
        try:
            write_atomic(args.json, json.dumps(summary, indent=1) + "\n")
        except OSError as exc:
            print(f"h2learn: error: {args.json}: cannot write: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
        say_wrote(args.json)
    render(summary, Console())
    return 0


def render(s: dict, console: Console) -> None:
    table = data_table(f"DRAM {s['preset']} · {s['channels']} channel(s) · map {s['address_map']}",
                       show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    lat = s["read_latency_percentiles_ns"]
    rows = [("Requests", f"{s['requests']:,} ({s['reads']:,} R, {s['writes']:,} W)"),
            ("Bytes", f"{s['bytes']:,}"), ("Time", f"{s['seconds'] * 1e6:,.2f} µs"),
            ("Bandwidth", f"{s['gbps']:.2f} GB/s ({s['fraction_of_peak']:.1%} of "
                          f"{s['peak_gbps']:.1f})"),
            ("Read latency", "—" if lat is None else
             f"mean {s['mean_read_latency_ns']:.1f}, p50 {lat['p50']:.1f}, "
             f"p99 {lat['p99']:.1f}, max {lat['max']:.1f} ns"),
            ("Row-hit rate", f"{s['row_hit_rate']:.3f}"),
            ("Activations", f"{s['activations']:,}"), ("Refreshes", f"{s['refreshes']:,}")]
    for row in rows:
        table.add_row(*row)
    console.print(table)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dram", help="run a DRAM request stream through the command-level model",
        description="Trace-driven DRAM mode: one request per line, a hexadecimal address and "
                    "R/W (or READ/WRITE), optionally an issue clock, as in DRAMsim3's trace "
                    "files. Requests are offered in order, up to 8 per memory clock, and the "
                    "first one whose channel queue is full blocks those behind it.")
    parser.add_argument("stream", metavar="STREAM", help="text file, one request per line")
    parser.add_argument("--preset", help="DRAM part (same as --set dram.preset=...)")
    add_config_options(parser)
    parser.add_argument("--request-bytes", type=int, default=64, metavar="N",
                        help="bytes per request (default 64; at most one burst of the part)")
    parser.add_argument("--json", metavar="PATH", help="write the full summary as JSON ('-': stdout)")
    parser.set_defaults(func=run_dram)
