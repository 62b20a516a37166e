"""``h2learn run --jobs N``: the iterations of a multi-iteration trace in parallel.

Every iteration is simulated on a fresh system from the same trace and config,
so iterations are independent: N worker processes each open the trace, simulate
the iterations they are given and send back the run record. Results are
gathered in iteration order, so they are identical to a run in one process
(tests/test_regression.py checks it).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

from tlm.config import SystemConfig
from tlm.system import IterationRun, simulate_iteration
from traces.reader import open_trace


def simulate_one(path: Path, iteration: int, cfg: SystemConfig) -> IterationRun:
    """One iteration in a worker process (module level, so it can be sent to one)."""
    with open_trace(path) as reader:
        return simulate_iteration(reader, iteration, cfg)


def run_parallel(path: Path, iterations: int, cfg: SystemConfig, jobs: int,
                 on_job: Callable[[int], None] | None = None) -> list[IterationRun]:
    """Simulate iterations 0..iterations-1 of the trace at ``path`` in ``jobs`` processes.

    ``on_job(n)`` is told the job count of each iteration as it completes (workers
    cannot report single jobs back cheaply).
    """
    workers = max(1, min(jobs, iterations, os.cpu_count() or 1))
    # fork: workers inherit the imported simulator instead of importing it again
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(simulate_one, path, i, cfg) for i in range(iterations)]
        runs = []
        for future in futures:
            runs.append(future.result())
            if on_job is not None:
                on_job(runs[-1].jobs)
    return runs
