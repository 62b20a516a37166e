"""Where sweep points run: in this process, on a local process pool, or on Dask.

Each backend yields one record per finished point, in completion order; an
unexpected failure of one point becomes its ``failed`` record, never the end of
the sweep.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Iterator

from tlm.config import ConfigError

from tlm.app.sweep_spec import Record, RunPoint, SweepError, SweepPoint, point_record

CLUSTER_HINT = "--scheduler needs Dask distributed: pip install '.[cluster]' (from a checkout)"


def run_point(point: SweepPoint) -> Record:
    """Simulate one point (replay it, for a recording); expected failures become a
    ``failed`` record, never an exception.

    Top-level so that process pools and Dask workers can pickle it by reference.
    """
    from reports.export import results_json  # heavy imports only where points run
    from tlm.system import DeadlockError
    from traces.errors import TraceError

    start = time.perf_counter()
    try:
        results = _replay(point) if point.recording else _simulate(point)
    except (ConfigError, TraceError, DeadlockError) as exc:
        return point_record(point, "failed", str(exc), None, time.perf_counter() - start)
    # results_json writes inf/nan as null: the record is the same JSON as `h2learn run --json`
    data = json.loads(results_json(results))
    return point_record(point, "ok", None, data, time.perf_counter() - start)


def _simulate(point: SweepPoint) -> Any:
    from tlm.app.api import simulate
    from tlm.config import load_config
    return simulate(point.trace, load_config(point.config_file, point.overrides))


def _replay(point: SweepPoint) -> Any:
    """Re-time the recorded stream: a stream-changing key fails the point with one line."""
    from reports.results import build_results
    from tlm.app.replay import replay_runs
    meta, cfg, runs = replay_runs(point.trace, point.config_file, point.overrides)
    return build_results(meta, cfg, runs, source=point.trace, source_kind="recording")


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
    context.set_forkserver_preload(["tlm.app.api", "tlm.app.replay", "reports.export"])
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


