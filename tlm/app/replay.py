"""Record a run's transaction stream and replay it on another memory system.

A full run spends most of its time reading the spike trace and evaluating the
engines' cost functions. Neither depends on the memory system, so a recording
keeps, for every job of every engine (in program order), what it turned out
to be: its DRAM reads and writes (command, address, length, tensor, layer,
timestep, buffer), its compute cycles and action counts, the on-chip channels
it takes from and gives to, and the scoreboard keys it waits for and
completes. Replay rebuilds the engines' programs from that and runs the same
system — loaders, engines, storers, buffers, DRAM — on another configuration,
so the same stall analysis comes out, honouring every recorded dependency.

Replay is exact for configurations that leave the stream unchanged: any DRAM,
SRAM port, pipeline mode/depth, clock, energy or GPU setting, and streaming
buffer sizes or prefetch depth as long as the tiling they imply is the same
(checked by re-deriving the job list from the network alone). Anything that
changes what the engines compute or move is refused with one line.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any, Callable, Iterable

import numpy as np

from reports.results import Results, build_results
from tlm.config import ConfigError, SystemConfig, config_from_dict, flatten, load_config
from tlm.costs.tile import TileCost
from tlm.jobs import Access, Job, Programs, RecordedJob, Work
from tlm.record import IterationRun
from tlm.system import simulate_programs
from tlm.topology import ENGINE_NAMES
from traces.network import Network
from traces.errors import TraceError
from traces.txcheck import TableSpec
from traces.txstream import open_stream, read_header, write_stream

JOB = np.dtype([("engine", "u1"), ("phase", "u1"), ("layer", "i4"), ("timestep", "i4"),
                ("cycles", "i8"), ("prepared_cycle", "i8")])
ACCESS = np.dtype([("job", "i4"), ("write", "u1"), ("tensor", "u1"), ("layer", "i4"),
                   ("timestep", "i4"), ("address", "i8"), ("length", "i8"), ("buffer", "u1"),
                   ("refetch", "u1")])
KEY = np.dtype([("job", "i4"), ("signal", "u1"), ("tensor", "u1"), ("layer", "i4"),
                ("timestep", "i4")])
LINK = np.dtype([("job", "i4"), ("gives", "u1"), ("channel", "u1")])
COUNT = np.dtype([("job", "i4"), ("kind", "u1"), ("name", "u2"), ("value", "i8")])
COUNT_KINDS = ("ops", "skipped", "holds")
# what StreamReader.tables checks of a recording's tables (traces/txcheck.py): codes, flags, counts
TABLES = TableSpec(
    dtypes={"jobs": JOB, "accesses": ACCESS, "keys": KEY, "links": LINK, "counts": COUNT,
            "labels": None},
    jobs_table="jobs",
    codes={"engine": "engine", "phase": "phase", "tensor": "tensor", "buffer": "buffer",
           "channel": "channel", "name": "count"},
    flags=("write", "signal", "gives", "refetch"),
    non_negative=("cycles", "prepared_cycle", "address", "length", "value"),
    limits={"kind": len(COUNT_KINDS)})
FREE_KEYS = ("dram.", "sram.", "energy.", "gpu.", "trace.", "clock_mhz", "pipeline.mode",
             "pipeline.du_channel_tiles")
TILING_KEYS = ("fe.input_buffer_kib", "be.input_buffer_kib", "wue.input_buffer_kib",
               "wue.output_buffer_kib", "lif.input_buffer_kib", "lif.output_buffer_kib",
               "pipeline.prefetch_tiles")


class ReplayError(ConfigError):
    """A configuration that would change the recorded stream."""


@dataclass(frozen=True)
class StreamMeta:
    """What build_results needs to know about the workload of a recording."""

    network: Network
    timesteps: int
    batch: int
    workload: str
    dataset: str


class Vocabulary:
    """Strings <-> small integers, one list per field, stored in the header."""

    def __init__(self, lists: dict[str, list[str]] | None = None) -> None:
        self.lists: dict[str, list[str]] = {k: list(v) for k, v in (lists or {}).items()}
        self._index = {k: {s: i for i, s in enumerate(v)} for k, v in self.lists.items()}

    def code(self, field: str, value: str) -> int:
        index = self._index.setdefault(field, {})
        if value not in index:
            index[value] = len(index)
            self.lists.setdefault(field, []).append(value)
        return index[value]

    def word(self, field: str, code: int) -> str:
        return self.lists[field][int(code)]


def to_tables(recorded: list[RecordedJob], vocab: Vocabulary) -> dict[str, np.ndarray]:
    """Flatten one iteration's recorded jobs into the stream's tables."""
    rows: dict[str, list[tuple]] = defaultdict(list)
    for index, entry in enumerate(recorded):
        job, work = entry.job, entry.work
        if work is None:
            raise ValueError(f"job {job.label} was never prepared: the run did not finish")
        rows["jobs"].append((vocab.code("engine", job.engine), vocab.code("phase", job.phase),
                             job.layer, job.timestep, work.cost.cycles, entry.prepared_cycle))
        rows["labels"].append((job.label,))
        for write, accesses in ((0, work.reads), (1, work.writes)):
            rows["accesses"] += [(index, write, vocab.code("tensor", a.tensor), a.layer,
                                  a.timestep, a.address, a.length_bytes,
                                  vocab.code("buffer", a.buffer), a.refetch) for a in accesses]
        for signal, keys in ((0, job.after), (1, job.signals)):
            rows["keys"] += [(index, signal, vocab.code("tensor", k[0]), k[1], k[2]) for k in keys]
        for gives, names in ((0, job.takes), (1, job.gives)):
            rows["links"] += [(index, gives, vocab.code("channel", n)) for n in names]
        for kind, counts in enumerate((work.cost.ops, work.cost.skipped, work.holds)):
            rows["counts"] += [(index, kind, vocab.code("count", n), v) for n, v in counts.items()]
    dtypes = {"jobs": JOB, "accesses": ACCESS, "keys": KEY, "links": LINK, "counts": COUNT}
    tables = {name: np.array(rows[name], dtype=dtype) for name, dtype in dtypes.items()}
    tables["labels"] = np.array([label for (label,) in rows["labels"]], dtype=object)
    return tables


def _per_job(jobs: int) -> list[list]:
    return [[] for _ in range(jobs)]


def _accesses(table: np.ndarray, jobs: int, words: dict[str, list[str]]
              ) -> tuple[list[list[Access]], list[list[Access]]]:
    """Each job's DRAM reads and writes, in table order."""
    tensors, buffers = words["tensor"], words["buffer"]
    reads, writes = _per_job(jobs), _per_job(jobs)
    for job, write, tensor, layer, timestep, address, length, buffer, refetch in table.tolist():
        (writes if write else reads)[job].append(
            Access(tensors[tensor], layer, timestep, address, length, buffers[buffer],
                   bool(refetch)))
    return reads, writes


def _keys(table: np.ndarray, jobs: int, tensors: list[str]
          ) -> tuple[list[list[tuple]], list[list[tuple]]]:
    """Each job's scoreboard keys: those it waits for, those its writes complete."""
    after, signals = _per_job(jobs), _per_job(jobs)
    for job, signal, tensor, layer, timestep in table.tolist():
        (signals if signal else after)[job].append((tensors[tensor], layer, timestep))
    return after, signals


def _links(table: np.ndarray, jobs: int, channels: list[str]
           ) -> tuple[list[list[str]], list[list[str]]]:
    """Each job's on-chip channels: those it takes a tile from, those it gives one to."""
    takes, gives = _per_job(jobs), _per_job(jobs)
    for job, give, channel in table.tolist():
        (gives if give else takes)[job].append(channels[channel])
    return takes, gives


def _counts(table: np.ndarray, jobs: int, names: list[str]) -> list[tuple[dict, dict, dict]]:
    """Each job's (ops, skipped, holds), keys in table order."""
    grouped: list[tuple[dict, dict, dict]] = [({}, {}, {}) for _ in range(jobs)]
    for job, kind, name, value in table.tolist():
        grouped[job][kind][names[name]] = value
    return grouped


def from_tables(tables: dict[str, np.ndarray], vocab: Vocabulary) -> Programs:
    """Rebuild the engines' programs; each job's prepare returns its recorded work.

    Every table becomes Python tuples once (``tolist``) and every code its word by
    list index: reading numpy rows field by field cost more than simulating the jobs.
    The codes were checked against the vocabulary when the tables were read.
    """
    words = {name: vocab.lists.get(name, []) for name in
             ("engine", "phase", "tensor", "buffer", "channel", "count")}
    jobs = tables["jobs"].tolist()
    n = len(jobs)
    reads, writes = _accesses(tables["accesses"], n, words)
    after, signals = _keys(tables["keys"], n, words["tensor"])
    takes, gives = _links(tables["links"], n, words["channel"])
    counts = _counts(tables["counts"], n, words["count"])
    labels = tables["labels"].tolist()
    programs = Programs([], [], [], [])
    engines, phases = words["engine"], words["phase"]
    for i, (engine, phase, layer, timestep, cycles, _) in enumerate(jobs):
        ops, skipped, holds = counts[i]
        work = Work(tuple(reads[i]), tuple(writes[i]), TileCost(cycles, ops, skipped), holds)
        job = Job(engines[engine], phases[phase], layer, timestep, str(labels[i]),
                  prepare=(lambda w=work: w), after=tuple(after[i]), takes=tuple(takes[i]),
                  gives=tuple(gives[i]), signals=tuple(signals[i]))
        getattr(programs, job.engine).append(job)
    return programs


def record_stream(path: str | os.PathLike, meta: Any, cfg: SystemConfig,
                  runs: list[IterationRun], trace: str) -> None:
    """Write the recorded jobs of ``runs`` (simulated with record=True)."""
    vocab = Vocabulary({"engine": list(ENGINE_NAMES)})
    tables = [to_tables(run.recorded or [], vocab) for run in runs]
    header = {"network": json.loads(meta.network.to_json()), "timesteps": meta.timesteps,
              "batch": meta.batch, "workload": meta.workload, "dataset": meta.dataset,
              "config": cfg.to_dict(), "trace": str(trace), "vocabulary": vocab.lists}
    write_stream(path, header, tables)


def _changed(recorded: dict[str, Any], cfg: SystemConfig) -> list[str]:
    now = cfg.flat()
    return [key for key, value in now.items() if recorded.get(key, value) != value]


def check_stream_preserved(recorded_cfg: SystemConfig, cfg: SystemConfig, meta: StreamMeta) -> None:
    """Raise ReplayError when ``cfg`` would change the recorded transaction stream."""
    changed = _changed(recorded_cfg.flat(), cfg)
    fixed = [k for k in changed if not k.startswith(FREE_KEYS) and k not in TILING_KEYS]
    if fixed:
        key = fixed[0]
        raise ReplayError(f"{key}: {recorded_cfg.flat()[key]!r} -> {cfg.flat()[key]!r} changes "
                          "what the engines compute or move; run a full simulation instead")
    if any(k in TILING_KEYS for k in changed) and _labels(recorded_cfg, meta) != _labels(cfg, meta):
        key = next(k for k in changed if k in TILING_KEYS)
        raise ReplayError(f"{key}: {recorded_cfg.flat()[key]!r} -> {cfg.flat()[key]!r} changes "
                          "the tiling of the recorded stream; run a full simulation instead")


def _labels(cfg: SystemConfig, meta: StreamMeta) -> list[str]:
    """The job list a config implies, derived from the network alone (no trace data)."""
    from tlm.engines.context import Context  # the program builders: only for a tiling change
    from tlm.layout import Layout
    from tlm.schedule import build_programs
    layout = Layout(meta.network, meta.timesteps, meta.batch, cfg)
    ctx = Context(cfg, meta.network, meta.timesteps, meta.batch, layout, trace=None)
    return [job.label for _, jobs in build_programs(ctx).items() for job in jobs]


def load_recording(path: str | os.PathLike) -> tuple[StreamMeta, SystemConfig, Vocabulary]:
    return recording_meta(path, read_header(path))


def recording_meta(path: str | os.PathLike, header: dict[str, Any]
                   ) -> tuple[StreamMeta, SystemConfig, Vocabulary]:
    """What a recording's header (keys and types checked, traces/txcheck.py) says."""
    try:
        network = Network.from_json(json.dumps(header["network"]))
    except (KeyError, TypeError, ValueError) as exc:  # NetworkError is a ValueError
        raise TraceError(str(path), "/@header/network", f"unusable: {exc}") from None
    meta = StreamMeta(network, header["timesteps"], header["batch"], header["workload"],
                      header["dataset"])
    flat = dict(flatten(header["config"]))
    known = {f.name for f in fields(SystemConfig)}
    recorded = config_from_dict({k: v for k, v in flat.items() if k.split(".")[0] in known})
    return meta, recorded, Vocabulary(header["vocabulary"])


def replay_runs(path: str | os.PathLike, config_file: str | os.PathLike | None = None,
                sets: Iterable[str] = (), on_job: Callable[[], None] | None = None
                ) -> tuple[StreamMeta, SystemConfig, list[IterationRun]]:
    """Re-time a recording on its recorded config changed by a TOML file and ``key=value``s."""
    with open_stream(path) as stream:  # one probe, one open
        meta, recorded_cfg, vocab = recording_meta(path, stream.header)
        cfg = load_config(config_file, sets, base=recorded_cfg)
        check_stream_preserved(recorded_cfg, cfg, meta)
        runs = [simulate_programs(from_tables(tables, vocab), cfg, on_job)
                for tables in stream.tables(TABLES)]
    return meta, cfg, runs


def replay(path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> Results:
    """Python API: replay with dotted overrides given as typed values."""
    sets = [f"{key}={value}" for key, value in (overrides or {}).items()]
    meta, cfg, runs = replay_runs(path, None, sets)
    return build_results(meta, cfg, runs, source=path, source_kind="recording")
