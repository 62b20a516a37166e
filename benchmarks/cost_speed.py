"""Benchmark: the engines' pure cost functions on the real tiles of one iteration.

Builds the engines' programs for one recorded iteration exactly as the
simulator does (same chunking, channel tiles and timesteps), then calls every
job's ``prepare`` — which reads its trace tile and calls its cost function —
without running SimPy. Every cost call is timed twice in the same run: once
with the current cost functions and once with a baseline version loaded from
git (``--baseline REV``, default HEAD), alternating which goes first; the two
results must be identical, else the run fails. Reports per function the call
count, the median time per call and the total, before and after, and the whole
iteration's cost-function time.

    .venv/bin/python benchmarks/cost_speed.py TRACE.h5 [TRACE.h5 ...] [--baseline REV]
                                              [--set dram.model=bandwidth ...]

Traces, e.g.: ``h2learn trace gen --workload cifar10-cifarnet --source synthetic
--batch 100 --timesteps 20 -o /tmp/c.h5``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
import types
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tlm.engines.backward  # noqa: E402
import tlm.engines.forward  # noqa: E402
import tlm.engines.lif  # noqa: E402
import tlm.engines.weight_update  # noqa: E402
from tlm.config import SystemConfig, load_config  # noqa: E402
from tlm.engines.context import Context  # noqa: E402
from tlm.layout import Layout  # noqa: E402
from tlm.schedule import build_programs  # noqa: E402
from tlm.traceview import TraceView  # noqa: E402
from traces.reader import open_trace  # noqa: E402

# modules loaded from the baseline revision, in dependency order
BASELINE_MODULES = ("tlm.functional.geometry", "tlm.costs.forward", "tlm.costs.backward",
                    "tlm.costs.weight_update", "tlm.costs.lif")
# (engine module, name) of every cost function a job's prepare() calls
HOOKS = ((tlm.engines.forward, "lut_build_cost"), (tlm.engines.forward, "lookup_cost"),
         (tlm.engines.backward, "backward_cost"), (tlm.engines.weight_update, "weight_update_cost"),
         (tlm.engines.lif, "lif_forward_cost"), (tlm.engines.lif, "lif_backward_cost"))

Timings = dict[str, list[tuple[float, float]]]  # name -> [(baseline s, current s)] per call


def load_baseline(rev: str) -> dict[str, types.ModuleType]:
    """The cost modules as of git revision ``rev``, importing each other, not the working tree."""
    loaded: dict[str, types.ModuleType] = {}
    for name in BASELINE_MODULES:
        path = name.replace(".", "/") + ".py"
        source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
        module = types.ModuleType(f"baseline.{name}")
        saved = {key: sys.modules[key] for key in loaded}
        sys.modules.update(loaded)  # its imports of earlier cost modules resolve to the baseline
        try:
            exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
        finally:
            sys.modules.update(saved)
        loaded[name] = module
    return loaded


def timed_pair(name: str, current: Callable, baseline: Callable, timings: Timings) -> Callable:
    """A stand-in that runs both versions (alternating order), times them, checks equality."""
    def call(*args, **kwargs):
        first_is_current = len(timings[name]) % 2 == 0
        order = (current, baseline) if first_is_current else (baseline, current)
        results, seconds = [], []
        for function in order:
            start = time.perf_counter()
            results.append(function(*args, **kwargs))
            seconds.append(time.perf_counter() - start)
        if results[0] != results[1]:
            raise AssertionError(f"{name}: current and baseline differ: {results}")
        new_s, base_s = seconds if first_is_current else seconds[::-1]
        timings[name].append((base_s, new_s))
        return results[0]
    return call


@contextlib.contextmanager
def hooked(baseline: dict[str, types.ModuleType], timings: Timings) -> Iterator[None]:
    """Point the engines' cost-function names at timed pairs for the duration."""
    originals = [(module, name, getattr(module, name)) for module, name in HOOKS]
    try:
        for module, name, current in originals:
            source = current.__module__
            setattr(module, name, timed_pair(name, current, getattr(baseline[source], name), timings))
        yield
    finally:
        for module, name, current in originals:
            setattr(module, name, current)


def replay(path: str, cfg: SystemConfig, baseline: dict[str, types.ModuleType]) -> Timings:
    """Prepare every job of iteration 0 of ``path``, timing its cost call both ways."""
    timings: Timings = defaultdict(list)
    with open_trace(path) as reader:
        meta = reader.meta
        ctx = Context(cfg, meta.network, meta.timesteps, meta.batch,
                      Layout(meta.network, meta.timesteps, meta.batch, cfg), TraceView(reader, 0))
        programs = build_programs(ctx)
        with hooked(baseline, timings):
            for _, program in programs.items():
                for job in program:
                    job.prepare()
    return timings


def report(path: str, timings: Timings) -> None:
    print(f"\n{path}")
    print(f"{'function':22} {'calls':>6} {'median ms (base -> new)':>24} "
          f"{'total s (base -> new)':>22} {'speedup':>8}")
    totals = [0.0, 0.0]
    for name, pairs in timings.items():
        base_ms = statistics.median(p[0] for p in pairs) * 1e3
        new_ms = statistics.median(p[1] for p in pairs) * 1e3
        base_s, new_s = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        totals[0] += base_s
        totals[1] += new_s
        print(f"{name:22} {len(pairs):6d} {base_ms:11.3f} -> {new_ms:9.3f} "
              f"{base_s:10.2f} -> {new_s:8.2f} {base_s / max(new_s, 1e-9):7.1f}x")
    print(f"{'whole iteration':22} {'':6} {'':24} {totals[0]:10.2f} -> {totals[1]:8.2f} "
          f"{totals[0] / max(totals[1], 1e-9):7.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("traces", nargs="+")
    parser.add_argument("--baseline", default="HEAD", help="git revision of the 'before' code")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, as on the h2learn command line")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    cfg = load_config(None, args.set)
    baseline = load_baseline(args.baseline)
    for path in args.traces:
        report(path, replay(path, cfg, baseline))


if __name__ == "__main__":
    main()
