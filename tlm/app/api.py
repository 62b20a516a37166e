"""The Python API: load a trace, build a system from a config, run, get results.

    from tlm.app.api import simulate
    results = simulate("mnist.h5", {"dram.preset": "ddr4-3200"})
    print(results.total_cycles, results.speedup)

The command line is a thin layer over these functions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

from reports.export import write_atomic
from reports.results import Results, build_results
from reports.timeline import timeline_bytes
from tlm.config import SystemConfig, config_from_dict, load_config
from tlm.record import IterationRun
from tlm.system import simulate_iteration
from traces.reader import TraceReader, open_trace
from traces.sample import sample_trace_path

ConfigLike = SystemConfig | Mapping[str, Any] | str | os.PathLike | None


def resolve_config(config: ConfigLike = None) -> SystemConfig:
    """A SystemConfig from a config, a dict of dotted overrides, a TOML path or None."""
    if isinstance(config, SystemConfig):
        return config
    if config is None:
        return SystemConfig()
    if isinstance(config, Mapping):
        return config_from_dict(dict(config))
    return load_config(config)


def load_trace(path: str | os.PathLike | None = None) -> TraceReader:
    """Open (and check the header of) a trace; None opens the embedded sample."""
    return open_trace(Path(path) if path is not None else sample_trace_path())


def run_iterations(reader: TraceReader, cfg: SystemConfig,
                   on_job: Callable[[], None] | None = None,
                   iterations: list[int] | None = None, record: bool = False) -> list[IterationRun]:
    """Simulate each recorded iteration (all of them by default) on a fresh system.

    ``record`` keeps every job's work for ``tlm.app.replay.record_stream``.
    """
    chosen = range(reader.meta.iterations) if iterations is None else iterations
    runs = [simulate_iteration(reader, i, cfg, on_job, record) for i in chosen]
    if iterations is None:
        reader.verify_unread()  # what the model skipped is checked too: a run accepts what
    return runs                 # `trace check` accepts


def simulate(trace: str | os.PathLike | TraceReader | None = None, config: ConfigLike = None,
             on_job: Callable[[], None] | None = None) -> Results:
    """Simulate every iteration of a trace and derive the full results."""
    cfg = resolve_config(config)
    if isinstance(trace, TraceReader):
        return build_results(trace.meta, cfg, run_iterations(trace, cfg, on_job),
                             source=trace.path)
    with load_trace(trace) as reader:
        return build_results(reader.meta, cfg, run_iterations(reader, cfg, on_job),
                             source=reader.path)


def simulate_with_timeline(trace: str | os.PathLike | None, timeline_path: str | os.PathLike,
                           config: ConfigLike = None) -> Results:
    """``simulate`` that also writes the run's Chrome Trace Event timeline (as ``--timeline``).

    The file is gzip-compressed when its name ends with .gz; open it in ui.perfetto.dev.
    """
    cfg = resolve_config(config)
    with load_trace(trace) as reader:
        runs = run_iterations(reader, cfg)
        results = build_results(reader.meta, cfg, runs, source=reader.path)
    write_atomic(str(timeline_path), timeline_bytes(runs, str(timeline_path),
                                                    results.config["clock_mhz"]))
    return results


__all__ = ["Results", "resolve_config", "load_trace", "run_iterations", "simulate",
           "simulate_with_timeline"]
