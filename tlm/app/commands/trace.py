"""``h2learn trace``: make, inspect and check trace files.

    h2learn trace gen (--workload NAME | --network FILE) --source synthetic|trainer -o OUT.h5
    h2learn trace info FILE
    h2learn trace check FILE

This module only parses arguments, draws progress bars and tables, and turns
library errors into one ``h2learn: error: ...`` line with exit code 2; the work
is done by traces.synthetic, traces.trainer, traces.reader and traces.validate.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

from rich.console import Console
from rich.table import Table

from reports.tables import data_table

from tlm.app.commands.progress import LazyProgress
from traces.errors import TraceError
from traces.identity import content_sha256, file_sha256
from traces.netfile import load_network_file
from traces.network import NetworkError
from traces.reader import LayerStats, TraceReader, layer_stats, open_trace, unpacked_bytes
from traces.recipes import make_trace, reference_recipe
from traces.synthetic import LayerRates, SyntheticParams, generate_trace
from traces.validate import validate_trace
from traces.workloads import Workload, get_workload
from traces.atomic import check_target, say_wrote
from traces.writer import TraceWriter, header_for_workload

EXIT_OK, EXIT_ERROR = 0, 2
TRAINER_PRODUCER = "h2learn-tlm trainer"


RATE_HELP = {  # the synthetic generator's knobs (traces/synthetic.py documents the model)
    "firing-rate": f"mean output-spike density of every layer, 0..1 "
                   f"(default {LayerRates().firing_rate})",
    "h-density": f"mean density of the surrogate-gradient mask h, 0..1 "
                 f"(default {LayerRates().h_density})",
    "du-density": f"mean density of non-zero du = dL/du, 0..1 (default {LayerRates().du_density})",
    "input-rate": f"mean spike density of the network's input, 0..1 "
                  f"(default {SyntheticParams().input_rate})",
    "channel-cv": f"coefficient of variation of per-channel rates, 0..10 "
                  f"(default {SyntheticParams().channel_cv})",
    "temporal-corr": f"lag-1 autocorrelation of each neuron's spikes, 0..0.99 "
                     f"(default {SyntheticParams().temporal_corr})",
}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``trace`` and its sub-commands on the top-level ``h2learn`` parser."""
    parser = subparsers.add_parser("trace", help="make, inspect and check BPTT trace files",
                                   description="Make, inspect and check BPTT trace files.")
    sub = parser.add_subparsers(dest="trace_command", metavar="COMMAND", required=True)
    _add_gen(sub)
    info = sub.add_parser("info", help="per-layer densities and file statistics",
                          description="Print a trace's workload, layers and shapes, per-layer "
                                      "firing rate and mask/du densities, its size, its file "
                                      "sha256 and its layout-independent content sha256.")
    info.add_argument("file", metavar="FILE", help="HDF5 trace file")
    info.set_defaults(func=handle_info)
    check = sub.add_parser("check", help="validate a trace against the schema",
                           description="Check a trace against the schema (docs/trace-schema.md): "
                                       "an 'ok' summary, or one line naming the file, the field "
                                       "and what was expected, and exit code 2.")
    check.add_argument("file", metavar="FILE", help="HDF5 trace file")
    check.set_defaults(func=handle_check)
    return parser


def _add_gen(sub: argparse._SubParsersAction) -> None:
    gen = sub.add_parser("gen", help="generate a trace (synthetic or by training)",
                         description="Write a BPTT trace for a built-in workload or a TOML "
                                     "network file: from the synthetic generator, from the "
                                     "project's numpy BPTT trainer, or from a reference "
                                     "workload's recipe.")
    what = gen.add_mutually_exclusive_group(required=True)
    what.add_argument("--workload", metavar="NAME", help="a reference workload, e.g. mnist-cnn")
    what.add_argument("--network", metavar="FILE", help="a TOML network description")
    what.add_argument("--nir", metavar="GRAPH.nir", help="a NIR graph (needs the nir package: "
                      "pip install -e '.[capture]')")
    gen.add_argument("--source", choices=("synthetic", "trainer", "recipe"), default="synthetic",
                     help="synthetic generator (default), the numpy BPTT trainer, or a reference "
                          "workload's recipe (trained first, recorded at full batch: the trace "
                          "`h2learn validate` uses)")
    gen.add_argument("-o", "--output", required=True, metavar="OUT.h5",
                     help="trace file to write (atomically)")
    gen.add_argument("--batch", type=int, help="batch size (default: the workload's)")
    gen.add_argument("--timesteps", type=int, help="timesteps T (default: the workload's)")
    gen.add_argument("--iterations", type=int, default=1, help="iterations recorded (default 1)")
    gen.add_argument("--seed", type=int, default=0,
                     help="random seed: the same seed and options give the same trace (default 0)")
    gen.add_argument("--dt", type=float, default=1e-4, metavar="SECONDS",
                     help="--nir: the timestep that turns NIR's tau into a leak 1 - dt/tau "
                          "(default 1e-4 s, as snnTorch and Norse export)")
    gen.add_argument("--train-iterations", type=int, metavar="N",
                     help="trainer: iterations trained; the last --iterations are recorded "
                          "(default: --iterations)")
    gen.add_argument("--data-dir", metavar="DIR",
                     help="trainer: train on a downloaded N-MNIST or DVS-Gesture copy (tonic's "
                          "save_to folder), framed by tonic to the input size and T, instead "
                          "of the project's rendered digits (needs tonic)")
    gen.add_argument("--dataset", choices=("nmnist", "dvsgesture"),
                     help="--data-dir: which dataset, when DIR holds both")
    rates = gen.add_argument_group("synthetic rates (override the defaults / network file)")
    for name, text in RATE_HELP.items():
        rates.add_argument(f"--{name}", type=float, metavar="X", help=text)
    rates.add_argument("--du-values", action="store_true", help="also store float16 du values")
    gen.set_defaults(func=handle_gen)


def _fail(message: str) -> int:
    print(f"h2learn: error: {message}", file=sys.stderr)
    return EXIT_ERROR


@contextmanager
def _progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """The shared lazy bar (shown after a second) on a terminal; yields ``advance(n)``.

    Off a terminal (pipes, CI, tests) there is no bar at all, so stderr holds
    nothing but error lines.
    """
    if not Console(stderr=True).is_terminal:
        yield lambda n=1: None
        return
    with LazyProgress(description, total) as bar:
        yield bar.advance


def _workload_and_params(args: argparse.Namespace) -> tuple[Workload, SyntheticParams]:
    if args.nir:
        workload, params = _nir_workload(args), SyntheticParams()
    elif args.network:
        workload, params = load_network_file(args.network)
    else:
        try:
            workload, params = get_workload(args.workload), SyntheticParams()
        except KeyError as exc:
            raise NetworkError(str(exc.args[0])) from None
    return workload, _override_params(args, params)


def _nir_workload(args: argparse.Namespace) -> Workload:
    try:
        from traces.nirgraph import nir_workload
        import nir  # noqa: F401  (the optional extra)
    except ImportError:
        raise ValueError("--nir needs the nir package: pip install -e '.[capture]'") from None
    if not args.dt > 0:
        raise ValueError(f"--dt must be > 0, got {args.dt}")
    return nir_workload(args.nir, timesteps=args.timesteps or 8, batch=args.batch or 16,
                        dt_s=args.dt)


def _override_params(args: argparse.Namespace, params: SyntheticParams) -> SyntheticParams:
    """Command-line rates win over the network file's, which win over the defaults."""
    rates = {k: getattr(args, k) for k in ("firing_rate", "h_density", "du_density")
             if getattr(args, k) is not None}
    other = {k: getattr(args, k) for k in ("input_rate", "channel_cv", "temporal_corr")
             if getattr(args, k) is not None}
    return replace(params, **other, rates=replace(params.rates, **rates),
                   du_values=params.du_values or args.du_values)


def _check_sizes(args: argparse.Namespace) -> None:
    for name in ("batch", "timesteps", "iterations", "train_iterations"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if (args.data_dir or args.dataset) and args.source != "trainer":
        raise ValueError(f"--data-dir and --dataset need --source trainer (--source "
                         f"{args.source} reads no dataset)")
    if args.dataset and not args.data_dir:
        raise ValueError("--dataset needs --data-dir DIR")
    if args.train_iterations is not None and args.train_iterations < args.iterations:
        raise ValueError(f"--train-iterations ({args.train_iterations}) must be at least "
                         f"--iterations ({args.iterations})")


# The generators hold one layer's [T, B, neurons] float64 working arrays at a time;
# past this size the request is a typo or a machine far larger than a workstation.
MAX_LAYER_WORK_BYTES = 8 << 30


def _check_memory(args: argparse.Namespace, workload: Workload) -> None:
    """Refuse, before allocating, a T × B × layer size that cannot fit in memory."""
    timesteps = args.timesteps or workload.timesteps
    batch = args.batch or workload.batch
    neurons = max(max(layer.in_neurons, layer.out_neurons) for layer in workload.network.layers)
    need = timesteps * batch * neurons * 8
    if need > MAX_LAYER_WORK_BYTES:
        raise ValueError(f"T={timesteps} × batch={batch} × {neurons} neurons needs "
                         f"{need / 2**30:.3g} GiB per layer, more than the "
                         f"{MAX_LAYER_WORK_BYTES >> 30} GiB limit; lower --batch or --timesteps")


def handle_gen(args: argparse.Namespace) -> int:
    try:
        _check_sizes(args)
        if args.output == "-":
            raise ValueError("-o -: a trace is an HDF5 file and cannot go to stdout; give a PATH.h5")
        check_target(args.output)  # a directory or a FIFO is an error before any work
        if args.network and Path(args.network).resolve() == Path(args.output).resolve():
            raise ValueError(f"-o {args.output}: is the --network input; refusing to overwrite it")
        workload, params = _workload_and_params(args)
        _check_memory(args, workload)
        if args.source == "synthetic":
            _gen_synthetic(args, workload, params)
        elif args.source == "recipe":
            _gen_recipe(args, workload)
        else:
            _gen_trainer(args, workload)
    except (TraceError, ValueError) as exc:  # NetworkError, SyntheticError are ValueErrors
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{args.output}: cannot write: {exc.strerror or exc}")
    say_wrote(args.output)
    return EXIT_OK


def _gen_synthetic(args: argparse.Namespace, workload: Workload, params: SyntheticParams) -> None:
    total = args.iterations * len(workload.network.layers)
    with _progress("synthetic trace", total) as advance:
        generate_trace(args.output, workload, params, batch=args.batch, timesteps=args.timesteps,
                       iterations=args.iterations, seed=args.seed, progress=advance)


def _gen_recipe(args: argparse.Namespace, workload: Workload) -> None:
    try:
        recipe = reference_recipe(workload.name)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    recipe = recipe.with_overrides(batch=args.batch, timesteps=args.timesteps, seed=args.seed,
                                   train_iterations=args.train_iterations)
    with _progress("training (recipe)", recipe.train_iterations + 1) as advance:
        make_trace(recipe, args.output, lambda done, total: advance(1))


def _gen_trainer(args: argparse.Namespace, workload: Workload) -> None:
    from traces.trainer import train  # the trainer is heavy; only gen --source trainer needs it

    trained = args.train_iterations or args.iterations
    record = range(trained - args.iterations, trained)
    recordings = _recordings(args) if args.data_dir else None
    if recordings is not None:
        workload = replace(workload, dataset=recordings.dataset.title)
    header = header_for_workload(workload, producer=TRAINER_PRODUCER, batch=args.batch,
                                 timesteps=args.timesteps)
    with _progress("training", trained) as advance:
        # the run is set up (data checked against the network) before the output is opened
        run = train(workload, batch=args.batch, timesteps=args.timesteps, iterations=trained,
                    record=record, seed=args.seed, progress=lambda i, loss, acc: advance(1),
                    recordings=recordings)
        with TraceWriter(args.output, header) as writer:
            for rec in run:
                writer.write_iteration(rec.iteration, rec.layers, loss=rec.loss,
                                       accuracy=rec.accuracy)


def _recordings(args: argparse.Namespace):
    """The downloaded dataset --data-dir points at (tonic is the optional extra)."""
    try:
        import tonic  # noqa: F401
    except ImportError:
        raise ValueError("--data-dir needs tonic: pip install -e '.[capture]'") from None
    from traces.events import find_recordings
    return find_recordings(args.data_dir, args.dataset)


def handle_check(args: argparse.Namespace) -> int:
    try:
        s = validate_trace(args.file)
    except TraceError as exc:
        return _fail(str(exc))
    du = ", du values" if s.has_du_values else ""
    # short lines: the verdict and path first, the facts under it (80 columns)
    print(f"ok: {s.path}\n  schema {s.schema_version}, workload {s.workload}, "
          f"{s.iterations} iteration(s) × {len(s.layers)} layers\n"
          f"  T={s.timesteps}, B={s.batch}{du}, {s.file_bytes:,} bytes")
    return EXIT_OK


def handle_info(args: argparse.Namespace) -> int:
    try:
        with open_trace(args.file) as reader:
            with _progress("reading", reader.meta.iterations * len(reader.meta.network.layers)) as adv:
                stats = layer_stats(reader, progress=lambda done, total: adv(1))
            hashes = trace_hashes(args.file)
            console = Console()
            console.print(info_header(reader) + hashes)
            console.print(info_table(stats))
    except TraceError as exc:
        return _fail(str(exc))
    return EXIT_OK


def trace_hashes(path: str) -> str:
    """The file's sha256 and its layout-independent content sha256, as two lines."""
    try:
        content = content_sha256(path)
    except (OSError, KeyError, ValueError) as exc:  # h5py's ways of saying "damaged"
        raise TraceError(path, "/", f"cannot read every dataset to hash it: {exc}") from None
    return f"\nsha256 {file_sha256(path)}\ncontent sha256 {content}"


def info_header(reader: TraceReader) -> str:
    m = reader.meta
    dense = unpacked_bytes(m, reader.has_du_values)
    size = reader.file_bytes
    return (f"[bold]{reader.path}[/]  schema {m.schema_version}  producer {m.producer} "
            f"{m.producer_version}\nworkload {m.workload} ({m.dataset})  T={m.timesteps}  "
            f"batch={m.batch}  iterations={m.iterations}\nneuron vth={m.neuron.vth} "
            f"tau={m.neuron.tau}\n"
            f"file {_mib(size)}  unpacked {_mib(dense)}  compression {dense / max(size, 1):.1f}×")


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB"


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(v) for v in shape)


def info_table(stats: list[LayerStats]) -> Table:
    table = data_table("per layer: spike rates, and the densities of h and du "
                       "(averaged over iterations, timesteps and samples)")
    for col in ("layer", "kind", "in → out"):   # one line per layer, even at 80 columns
        table.add_column(col, no_wrap=True)
    for col in ("input\nrate", "firing\nrate", "h", "du"):
        table.add_column(col, justify="right")
    for s in stats:
        table.add_row(s.name, s.kind, f"{_shape(s.in_shape)}→{_shape(s.out_shape)}",
                      f"{s.input_rate:.3f}", f"{s.firing_rate:.3f}", f"{s.h_density:.3f}",
                      f"{s.du_density:.3f}")
    return table
