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

The points and their records are defined in ``tlm.app.sweep_spec``, the backends in
``tlm.app.sweep_backends``; this module journals and resumes. Nothing here prints: the ``h2learn sweep`` command draws progress and tables.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from tlm.app.sweep_backends import (CLUSTER_HINT, crashed_record, import_distributed,
                                    run_dask, run_local, run_point)
from tlm.app.sweep_keys import count_stale
from tlm.app.sweep_spec import (METRICS, Record, RunPoint, SweepError, SweepPoint,
                                SweepSpec, add_dimension, check_key, expand, key_metrics,
                                load_sweep_file, parse_grid_option, point_record, value_text)


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
    try:  # permissions do not tell everything (/proc, a read-only mount): try it
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".h2learn-write-check-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise SweepError(f"--out {out_dir}: cannot write there ({exc.strerror or exc})") from None


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



# the sweep's whole public surface, from its three modules, importable from here
__all__ = ["CLUSTER_HINT", "METRICS", "Record", "RunPoint", "SweepError", "SweepJournal",
           "SweepOutcome", "SweepPoint", "SweepSpec", "add_dimension", "check_key",
           "crashed_record", "expand", "import_distributed", "key_metrics", "load_sweep_file",
           "metrics_csv", "parse_grid_option", "point_record", "run_dask", "run_local",
           "run_point", "run_sweep", "value_text"]
