"""``h2learn config show``: the resolved configuration, with units."""

from __future__ import annotations

import argparse
import sys

from tlm.config import ConfigError, SystemConfig, allowed_values, load_config

UNITS = {"_kib": "KiB", "_mib": "MiB", "_bits": "bit", "_mhz": "MHz", "_gbps_per_channel": "GB/s per channel",
         "_ns": "ns", "_per_cycle": "per cycle", "_tiles": "tiles", "lut_k": "inputs/points per LUT",
         "pes": "PEs", "lanes": "lanes", "channels": "channels"}


def unit_of(key: str) -> str:
    leaf = key.rsplit(".", 1)[-1]
    return next((unit for suffix, unit in UNITS.items() if leaf.endswith(suffix)), "")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML file with parameters to change")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="override one parameter, e.g. --set fe.lut_k=8 (repeatable)")


def resolve(args: argparse.Namespace) -> SystemConfig:
    return load_config(args.config, args.set)


def toml_text(cfg: SystemConfig) -> str:
    lines: list[str] = []
    for section, values in cfg.to_dict().items():
        if not isinstance(values, dict):
            lines.append(f"{section} = {values!r}")
    for section, values in cfg.to_dict().items():
        if isinstance(values, dict):
            lines.append(f"\n[{section}]")
            for key, value in values.items():
                text = ("true" if value else "false") if isinstance(value, bool) else (
                    f'"{value}"' if isinstance(value, str) else repr(value))
                unit = unit_of(f"{section}.{key}")
                lines.append(f"{key} = {text}" + (f"  # {unit}" if unit else ""))
    return "\n".join(lines) + "\n"


def show(args: argparse.Namespace) -> int:
    try:
        cfg = resolve(args).effective()  # presets resolved: the values the simulator uses
    except ConfigError as exc:
        print(f"h2learn: error: {exc}", file=sys.stderr)
        return 2
    if args.toml:
        sys.stdout.write(toml_text(cfg))
        return 0
    defaults = SystemConfig().effective().flat()
    from rich.console import Console  # only this command draws a table: keep rich off --help

    from reports.tables import data_table
    table = data_table("h2learn configuration")
    table.add_column("key", no_wrap=True)
    for column in ("value", "unit", "allowed"):
        table.add_column(column)
    for key, value in cfg.flat().items():
        changed = value != defaults[key]
        table.add_row(key, f"[bold]{value}[/bold]" if changed else str(value), unit_of(key),
                      allowed_values(key, defaults[key]))
    Console().print(table)
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "config", help="show the hardware configuration",
        description="Inspect the hardware configuration that --config and --set change.")
    sub = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    show_parser = sub.add_parser(
        "show", help="print the resolved configuration with units and allowed values",
        description="Print every parameter of the configuration (defaults changed by --config "
                    "and --set, changed values in bold) with its unit and allowed values, or "
                    "as a TOML file.")
    add_config_options(show_parser)
    show_parser.add_argument("--toml", action="store_true",
                             help="print as a TOML file to start your own config from")
    show_parser.set_defaults(func=show)
    parser.set_defaults(func=lambda args: (parser.print_help(), 0)[1])
