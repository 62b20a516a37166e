"""``h2learn validate``: the reference workloads' predicted results, checked for plausibility.

    h2learn validate [--no-ablations] [--sensitivity] [--json] [--against-paper]
                     [--batch N] [--timesteps T] [--workloads a,b] [--cache DIR]
                     [--config FILE] [--set KEY=VALUE ...]

Makes (once, into the cache) each reference workload's trace from its recipe
(``traces.recipes``), simulates it on the configuration and prints the
predicted speedup, energy saving, area saving and power next to the paper's
ranges, with each trace's content hash. Every mechanism is then removed in
turn (time and energy); ``--sensitivity`` adds DRAM-bandwidth and LUT-k sweeps
and a sweep over each documented assumption. Exit 1 when a plausibility check
fails (``tlm.app.plausibility``; with ``--against-paper`` also the paper's
bands, for configs/paper-calibrated.toml), 2 on an error. ``--json`` prints
everything as one JSON object instead of tables. ``--batch``/``--timesteps``
make reduced (faster) traces, whose ratios are not the paper's workloads'.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from rich.console import Console

from tlm.app.plausibility import ablation_checks, assumption_sweeps
from tlm.app.validate_view import (assumption_tables, render_sensitivity, render_validation,
                                   targets_line, validation_json)
from tlm.app.commands.config import add_config_options, resolve
from tlm.app.commands.progress import LazyProgress
from tlm.config import ConfigError
from tlm.system import DeadlockError
from tlm.app.validate import (REFERENCE_WORKLOADS, dram_sweep, lut_sweep, run_ablations,
                          run_validation)
from traces.errors import TraceError
from traces.recipes import ensure_trace, reference_recipe

EXIT_OK, EXIT_MISSED, EXIT_ERROR = 0, 1, 2
SENSITIVITY_WORKLOADS = ("mnist-cnn", "cifar10-cifarnet")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "validate", help="reference workloads vs the paper's headline results",
        description="Simulate the reference workloads (traces made once from recipes and "
                    "cached) and check speedup, energy and area saving against the paper.")
    parser.add_argument("--ablations", action=argparse.BooleanOptionalAction, default=True,
                        help="remove each mechanism in turn (default: on; its effects are checked)")
    parser.add_argument("--sensitivity", action="store_true",
                        help="DRAM bandwidth, LUT k and documented-assumption sweeps on "
                             "mnist-cnn and cifar10-cifarnet")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no tables")
    parser.add_argument("--against-paper", action="store_true",
                        help="also check the paper's ranges (for configs/paper-calibrated.toml)")
    parser.add_argument("--batch", type=int, metavar="N", help="record at batch N (reduced run)")
    parser.add_argument("--timesteps", type=int, metavar="T", help="record at T timesteps")
    parser.add_argument("--train-iterations", type=int, metavar="N",
                        help="train N iterations before the recorded one (default: recipe's)")
    parser.add_argument("--workloads", metavar="A,B", default=",".join(REFERENCE_WORKLOADS),
                        help="comma-separated reference workloads (default: all four)")
    parser.add_argument("--cache", metavar="DIR",
                        help="trace cache (default $H2LEARN_CACHE or ~/.cache/h2learn)")
    add_config_options(parser)
    parser.set_defaults(func=handle)


def _recipes(args: argparse.Namespace) -> dict:
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    recipes = {}
    for name in names:
        recipe = reference_recipe(name).with_overrides(
            batch=args.batch, timesteps=args.timesteps, train_iterations=args.train_iterations)
        if args.batch is not None and recipe.train_batch > args.batch:
            recipe = recipe.with_overrides(train_batch=args.batch)
        recipes[name] = recipe
    return recipes


def _traces(args: argparse.Namespace) -> dict[str, str]:
    traces = {}
    for name, recipe in _recipes(args).items():
        with LazyProgress(f"making trace {name} (cached after the first time)") as bar:
            def step(done: int, total: int, bar: LazyProgress = bar) -> None:
                bar.total = total   # the recipe knows its total: show count, total, ETA
                bar.advance(1)
            traces[name] = str(ensure_trace(recipe, args.cache, step))
    return traces


def handle(args: argparse.Namespace) -> int:
    console = Console(stderr=args.json)  # the terminal's width; piped, COLUMNS or 80
    try:
        cfg = resolve(args)
        start = time.perf_counter()
        traces = _traces(args)
        with LazyProgress("validating", total=len(traces)) as bar:
            validation = run_validation(traces, cfg, on_result=lambda r: bar.advance(1),
                                        against_paper=args.against_paper)
        ablations = _ablations(args, traces, cfg, validation)
        sweeps, sensitivity = _sensitivity(args, traces, cfg)
    except (ConfigError, TraceError, DeadlockError, KeyError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"h2learn: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        json.dump(validation_json(validation, ablations, sweeps, sensitivity), sys.stdout,
                  indent=1)
        sys.stdout.write("\n")
    else:
        _render(console, validation, ablations, sweeps, sensitivity, args.against_paper)
        console.print(f"validate took {time.perf_counter() - start:.0f} s")
    return EXIT_OK if validation.passed else EXIT_MISSED


def _ablations(args: argparse.Namespace, traces: dict, cfg, validation) -> list:
    if not args.ablations:
        return []
    with LazyProgress("ablations") as bar:
        rows = run_ablations(traces, cfg, on_result=lambda w, v: bar.advance(1))
    validation.checks += ablation_checks(rows, {r.workload: r for r in validation.rows})
    return rows


def _sensitivity(args: argparse.Namespace, traces: dict, cfg) -> tuple[list, list]:
    if not args.sensitivity:
        return [], []
    chosen = [w for w in SENSITIVITY_WORKLOADS if w in traces] or list(traces)[:2]
    sweeps = []
    with LazyProgress("sensitivity") as bar:
        for name in chosen:
            sweeps.append(dram_sweep(traces[name], cfg))
            sweeps.append(lut_sweep(traces[name], cfg))
            bar.advance(1)
        rows = assumption_sweeps({n: traces[n] for n in chosen}, cfg,
                                 on_point=lambda: bar.advance(1))
    return sweeps, rows


def _render(console: Console, validation, ablations, sweeps, sensitivity,
            against_paper: bool) -> None:
    render_validation(validation, console, ablations)
    if against_paper:
        console.print(targets_line(validation.targets))
    if sweeps:
        render_sensitivity(sweeps, console)
    for table in assumption_tables(sensitivity):
        console.print(table)
