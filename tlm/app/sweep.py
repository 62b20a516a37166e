"""Parameter sweeps ("factors", after desmod): grids of config overrides × traces.

A sweep is the cartesian product of one or more *grid* dimensions (a dotted
config key and the values it takes) and one or more traces. Each combination
is a ``SweepPoint`` with two identities (``tlm.app.sweep_keys``): its *slot*
(trace path + resolved configuration) and its *key* (the slot + the trace's
content hash + the tool's version and commit). A sweep run again in the same
output folder skips points whose key it already completed (resume) and re-runs
*stale* ones — same slot, another key — saying how many there were.

Trace paths are made absolute before any point is dispatched, so workers that
run in another directory (a Dask cluster) read the same files.

Points run through an executor that yields one *record* per finished point:
in-process (``jobs=1``), on a local process pool (``concurrent.futures``), or
on a Dask distributed cluster (imported lazily; from a checkout ``pip
install '.[cluster]'``). A record is JSON-ready: the point, status ``ok`` or
``failed``, the one-line error, the key metrics and the full results dict. The
``SweepJournal`` appends records to ``points.jsonl`` as they arrive, so an
interrupted sweep loses at most the points in flight, and rewrites
``points.csv`` from them atomically.

Nothing here prints: the ``h2learn sweep`` command draws progress and tables.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from tlm.app.sweep_keys import (SAMPLE_TRACE, absolute, count_stale, effective_config,
                                full_key, point_key, tool_identity, trace_content)
from tlm.config import ConfigError, SystemConfig, flatten
from tlm.topology import ENGINE_NAMES

CLUSTER_HINT = "--scheduler needs Dask distributed: pip install '.[cluster]' (from a checkout)"

Record = dict[str, Any]
RunPoint = Callable[["SweepPoint"], Record]


def _share(activity: dict[str, int], state: str) -> float:
    total = sum(activity.values())
    return activity.get(state, 0) / total if total else 0.0


# The key metrics of a point: name -> (extractor from the results dict, higher is better).
METRICS: dict[str, tuple[Callable[[dict[str, Any]], float | int | None], bool]] = {
    "total_cycles": (lambda r: r["total_cycles"], False),
    "seconds": (lambda r: r["seconds"], False),
    "speedup": (lambda r: r["speedup"], True),
    "energy_pj": (lambda r: r["energy_pj"]["total"], False),
    "energy_saving": (lambda r: r["energy_saving"], True),
    "area_mm2": (lambda r: r["area_mm2"]["total"], False),
    "area_saving": (lambda r: r["area_saving"], True),
    "dram_achieved_gbps": (lambda r: r["dram"]["achieved_gbps"], True),
    "dram_utilization": (lambda r: r["dram"]["utilization"], True),
    **{f"{engine}_stall_memory": ((lambda r, e=engine: _share(r["engines"][e], "stall_memory")),
                                  False) for engine in ENGINE_NAMES},
}


class SweepError(ValueError):
    """A sweep definition that cannot be run (bad grid, sweep file or trace list)."""


@dataclass(frozen=True)
class SweepPoint:
    """One simulation of a sweep: a trace and the overrides applied to the base config."""

    index: int
    key: str                           # slot + trace content + tool: what resume matches
    trace: str | None                  # absolute path; None: the embedded sample trace
    grid: dict[str, str]               # the swept keys' values at this point
    overrides: tuple[str, ...]         # base --set values, then the grid values
    config_file: str | None = None
    slot: str = ""                     # trace path + resolved config: where the point sits
    trace_content_sha256: str | None = None

    @property
    def trace_name(self) -> str:
        return SAMPLE_TRACE if self.trace is None else Path(self.trace).name


@dataclass
class SweepSpec:
    """What to sweep: traces, ordered grid dimensions, a base config and overrides."""

    traces: list[str | None] = field(default_factory=lambda: [None])
    grid: dict[str, list[str]] = field(default_factory=dict)
    base: list[str] = field(default_factory=list)
    config_file: str | None = None

    def dimensions(self) -> list[str]:
        """The grid keys that really vary (more than one value)."""
        return [key for key, values in self.grid.items() if len(values) > 1]


def value_text(value: Any) -> str:
    """A grid value as ``--set`` text: TOML booleans become true/false, numbers their repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise SweepError(f"grid value {value!r}: expected a string, number or boolean")


def check_key(key: str) -> None:
    if key not in SystemConfig().flat():
        raise SweepError(f"--grid {key}: unknown key (see `h2learn config show`)")


def add_dimension(grid: dict[str, list[str]], key: str, values: Iterable[Any]) -> None:
    """Add (or replace) a grid dimension; repeated values are kept once, in order."""
    key = key.strip()
    check_key(key)
    texts = list(dict.fromkeys(value_text(v).strip() for v in values))
    if not texts or any(not text for text in texts):
        raise SweepError(f"--grid {key}: expected one or more non-empty values")
    grid[key] = texts


def parse_grid_option(text: str) -> tuple[str, list[str]]:
    """``'dram.preset=hbm2,ddr4-3200'`` -> ``('dram.preset', ['hbm2', 'ddr4-3200'])``."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise SweepError(f"--grid {text!r}: expected key=value1,value2,...")
    return key.strip(), values.split(",")



def load_sweep_file(path: str | os.PathLike) -> SweepSpec:
    """A TOML sweep file: ``traces``, ``config``, ``[grid]`` lists and ``[set]`` values.

    Relative trace and config paths are relative to the sweep file's folder.
    """
    source = Path(path)
    try:
        tree = tomllib.loads(source.read_text())
    except OSError as exc:
        raise SweepError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(tree) - {"traces", "config", "grid", "set"})
    if unknown:
        raise SweepError(f"{path}: unknown entry {unknown[0]!r}; expected traces, config, "
                         "[grid] or [set]")
    spec = SweepSpec()
    # [grid.dram] preset = [...] and [grid] "dram.preset" = [...] mean the same
    for key, values in flatten(tree.get("grid", {})):
        add_dimension(spec.grid, key, values if isinstance(values, list) else [values])
    for key, value in flatten(tree.get("set", {})):
        check_key(key)
        spec.base.append(f"{key}={value_text(value)}")
    if "traces" in tree:
        if not isinstance(tree["traces"], list) or not tree["traces"]:
            raise SweepError(f"{path}: traces: expected a non-empty list of trace files")
        spec.traces = [str(source.parent / str(name)) for name in tree["traces"]]
    if "config" in tree:
        spec.config_file = str(source.parent / str(tree["config"]))
    return spec


def expand(spec: SweepSpec) -> list[SweepPoint]:
    """Every point, in a deterministic order: traces outermost, then the grid as given."""
    config_file = absolute(spec.config_file)
    if config_file:
        try:
            Path(config_file).read_text()
        except OSError as exc:
            raise SweepError(f"{spec.config_file}: cannot read ({exc.strerror})") from None
    keys = list(spec.grid)
    combos = list(itertools.product(*(spec.grid[key] for key in keys)))
    tool = tool_identity()
    points: list[SweepPoint] = []
    seen: set[str] = set()
    for trace in dict.fromkeys(absolute(t) for t in spec.traces):
        content = trace_content(trace)
        for values in combos:
            grid = dict(zip(keys, values))
            overrides = tuple(spec.base) + tuple(f"{k}={v}" for k, v in grid.items())
            slot = point_key(trace, config_file, overrides)
            if slot not in seen:  # a trace named twice is simulated once
                seen.add(slot)
                points.append(SweepPoint(len(points), full_key(slot, content, tool), trace,
                                         grid, overrides, config_file, slot, content))
    return points


def key_metrics(results: dict[str, Any]) -> dict[str, float | int | None]:
    return {name: extract(results) for name, (extract, _) in METRICS.items()}


def point_record(point: SweepPoint, status: str, error: str | None,
                 results: dict[str, Any] | None, wall_seconds: float) -> Record:
    """The JSON line of one finished point (metrics and results are None when it failed)."""
    return {"key": point.key, "slot": point.slot, "index": point.index,
            "trace": point.trace_name, "trace_path": point.trace,
            "trace_content_sha256": point.trace_content_sha256,
            "trace_sha256": (results or {}).get("trace", {}).get("sha256"),
            "producer": tool_identity(), "config": effective_config(point),
            "grid": dict(point.grid),
            "overrides": list(point.overrides), "config_file": point.config_file,
            "status": status, "error": error, "wall_seconds": round(wall_seconds, 4),
            "metrics": key_metrics(results) if results is not None else None,
            "results": results}


def run_point(point: SweepPoint) -> Record:
    """Simulate one point; expected failures become a ``failed`` record, never an exception.

    Top-level so that process pools and Dask workers can pickle it by reference.
    """
    from reports.export import results_json  # heavy imports only where points run
    from tlm.app.api import simulate
    from tlm.config import load_config
    from tlm.system import DeadlockError
    from traces.errors import TraceError

    start = time.perf_counter()
    try:
        config = load_config(point.config_file, point.overrides)
        results = simulate(point.trace, config)
    except (ConfigError, TraceError, DeadlockError) as exc:
        return point_record(point, "failed", str(exc), None, time.perf_counter() - start)
    # results_json writes inf/nan as null: the record is the same JSON as `h2learn run --json`
    data = json.loads(results_json(results))
    return point_record(point, "ok", None, data, time.perf_counter() - start)


def crashed_record(point: SweepPoint, exc: BaseException) -> Record:
    """A point whose worker raised something unexpected (a bug, a lost worker)."""
    return point_record(point, "failed", f"internal error: {type(exc).__name__}: {exc}",
                        None, 0.0)


def run_local(points: list[SweepPoint], jobs: int = 1,
              runner: RunPoint = run_point) -> Iterator[Record]:
    """Records in completion order: in this process (jobs=1) or on a process pool."""
    if jobs <= 1:
        for point in points:
            yield _guarded(runner, point)
        return
    # not fork: the parent may hold h5py handles and rich's refresh thread. A fork
    # server that has imported the simulator once starts each worker in milliseconds.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tlm.app.api", "reports.export"])
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(runner, point): point for point in points}
        try:
            for future in as_completed(futures):
                exc = future.exception()
                yield crashed_record(futures[future], exc) if exc else future.result()
        finally:  # an interrupted sweep does not wait for queued points
            pool.shutdown(wait=True, cancel_futures=True)


def die_with_parent(sweep_pid: int) -> None:
    """Pool-worker start-up: end this worker when the sweep process is gone (kill -9).

    Workers are children of the fork server, not of the sweep, so nothing else
    would end them: a thread polls the sweep's pid, and on Linux the kernel also
    kills the worker when its parent (the fork server) dies.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            try:
                os.kill(sweep_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            time.sleep(0.5)
    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _guarded(runner: RunPoint, point: SweepPoint) -> Record:
    try:
        return runner(point)
    except Exception as exc:  # noqa: BLE001 - one broken point must not end the sweep
        return crashed_record(point, exc)


def import_distributed() -> Any:
    """The ``distributed`` module, or a SweepError naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise SweepError(CLUSTER_HINT) from None
    return distributed


def run_dask(points: list[SweepPoint], address: str,
             runner: RunPoint = run_point) -> Iterator[Record]:
    """Records in completion order from a Dask cluster (``dask scheduler`` at address).

    Workers must import this package and read the trace and config paths, so
    they need the same environment and a shared filesystem.
    """
    distributed = import_distributed()
    try:
        client = distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"--scheduler {address}: cannot connect ({exc})") from None
    with client:
        futures = client.map(runner, points, key=[f"h2learn-{p.key}" for p in points],
                             pure=False)
        by_key = {future.key: point for future, point in zip(futures, points)}
        for future in distributed.as_completed(futures):
            point = by_key[future.key]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails its point only
                yield crashed_record(point, exc)


class SweepJournal:
    """``points.jsonl`` (one record per line, appended) and ``points.csv`` in a folder.

    Each record is one ``write`` of one line followed by a flush, so a killed
    sweep leaves at most a torn last line, which ``load`` skips. The CSV holds
    the latest record of each point in point order and is rewritten atomically.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.jsonl_path = self.folder / "points.jsonl"
        self.csv_path = self.folder / "points.csv"

    def load(self) -> dict[str, Record]:
        """The latest complete record of every point already in the journal."""
        records: dict[str, Record] = {}
        if not self.jsonl_path.exists():
            return records
        # a binary or torn journal is read line by line: undecodable lines are skipped
        for line in self.jsonl_path.read_bytes().decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue  # a torn line from an interrupted write
            if complete_record(record):
                records[record["key"]] = record
        return records

    def start(self, fresh: bool = False) -> None:
        """Create the folder; a fresh sweep empties the journal, a resumed one heals it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if fresh or not self.jsonl_path.exists():
            self.jsonl_path.write_text("")
            return
        text = self.jsonl_path.read_bytes()
        if text and not text.endswith(b"\n"):  # do not glue a new record to a torn line
            with self.jsonl_path.open("ab") as handle:
                handle.write(b"\n")

    def append(self, record: Record) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self.jsonl_path.open("a") as handle:
            handle.write(line)
            handle.flush()

    def write_csv(self, records: Iterable[Record], grid_keys: list[str]) -> None:
        from reports.export import write_atomic
        write_atomic(self.csv_path, metrics_csv(records, grid_keys))


def complete_record(record: Any) -> bool:
    """A journal line that can be trusted: a known key, and results when it says ok."""
    if not isinstance(record, dict) or not isinstance(record.get("key"), str):
        return False
    if record.get("status") == "ok":  # ok without results (an edited or torn line): re-run
        return isinstance(record.get("results"), dict) and isinstance(record.get("metrics"), dict)
    return record.get("status") == "failed"


def metrics_csv(records: Iterable[Record], grid_keys: list[str]) -> str:
    """One row per point: identity, grid values, status, error and the key metrics."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["index", "key", "trace", *grid_keys, "status", "error", *METRICS])
    for record in sorted(records, key=lambda r: r["index"]):
        metrics = record["metrics"] or {}
        writer.writerow([record["index"], record["key"], record["trace"],
                         *(record["grid"].get(k, "") for k in grid_keys),
                         record["status"], record["error"] or "",
                         *("" if metrics.get(m) is None else metrics[m] for m in METRICS)])
    return out.getvalue()


@dataclass
class SweepOutcome:
    """The records of every point of a sweep (in point order) and what was re-used."""

    points: list[SweepPoint]
    records: list[Record]
    resumed: int
    wall_seconds: float
    stale: int = 0   # completed before, but on another trace content or tool: re-run

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r["status"] != "ok"]


def check_out_dir(out_dir: str | os.PathLike) -> None:
    """--out must be (or be creatable as) a writable folder: one SweepError line otherwise."""
    folder = Path(out_dir)
    if not str(out_dir).strip():
        raise SweepError("--out: the path is empty")
    if folder.exists() and not folder.is_dir():
        raise SweepError(f"--out {out_dir}: exists and is not a folder")
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise SweepError(f"--out {out_dir}: folder {existing} is not writable")


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, *, jobs: int = 1,
              scheduler: str | None = None, resume: bool = True,
              on_start: Callable[[int, int], None] | None = None,
              on_record: Callable[[Record], None] | None = None,
              runner: RunPoint = run_point) -> SweepOutcome:
    """Run every point not already completed ok in ``out_dir``; journal each as it ends.

    ``on_start(to_run, resumed)`` is called once the journal has been read, and
    ``on_record(record)`` after each point, so a caller can draw progress.
    """
    start = time.perf_counter()
    points = expand(spec)
    if scheduler:
        import_distributed()  # fail before touching the output folder
    check_out_dir(out_dir)
    journal = SweepJournal(out_dir)
    journal.start(fresh=not resume)
    done = {k: r for k, r in journal.load().items() if r["status"] == "ok"}
    records = {p.key: done[p.key] for p in points if p.key in done}
    todo = [p for p in points if p.key not in done]
    stale = count_stale(todo, done.values())
    grid_keys = list(spec.grid)
    if on_start:
        on_start(len(todo), len(points) - len(todo))
    executor = run_dask(todo, scheduler, runner) if scheduler else run_local(todo, jobs, runner)
    last_csv = 0.0
    try:
        for record in executor:
            journal.append(record)
            records[record["key"]] = record
            if on_record:
                on_record(record)
            if time.monotonic() - last_csv > 1.0:  # the CSV is a view: refresh it at most 1/s
                journal.write_csv(records.values(), grid_keys)
                last_csv = time.monotonic()
    finally:  # interrupted or not, the CSV shows every point in the journal
        journal.write_csv(records.values(), grid_keys)
    ordered = [records[p.key] for p in points if p.key in records]
    return SweepOutcome(points, ordered, len(points) - len(todo), time.perf_counter() - start,
                        stale)
