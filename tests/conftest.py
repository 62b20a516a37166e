"""Shared fixtures: small traces made on the fly by the project's own generators."""

from __future__ import annotations

import os

# small matrices: BLAS threads only fight each other (and other jobs) on 2 cores
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import settings

# the same examples on every run: a property test must not pass or fail by chance
settings.register_profile("h2learn", derandomize=True, print_blob=True)
settings.load_profile("h2learn")

from traces.record import LayerRecord
from traces.synthetic import SyntheticParams, synthesize_iteration
from traces.workloads import Workload, get_workload
from traces.writer import TraceWriter, header_for_workload

Edit = Callable[[dict[str, LayerRecord]], None]


def write_trace(path: Path, workload: str | Workload = "tiny-cnn", *, batch: int = 4, timesteps: int = 4,
                seed: int = 0, edit: Edit | None = None,
                params: SyntheticParams = SyntheticParams()) -> Path:
    """A one-iteration synthetic trace, optionally edited before it is written."""
    spec = get_workload(workload) if isinstance(workload, str) else workload
    records = synthesize_iteration(spec, params, batch=batch, timesteps=timesteps, seed=seed)
    if edit is not None:
        edit(records)
    header = header_for_workload(spec, producer="tests", batch=batch, timesteps=timesteps)
    with TraceWriter(path, header) as writer:
        writer.write_iteration(0, records)
    return path


def set_du(value: bool) -> Edit:
    """An edit that makes every du zero (False) or non-zero (True), and h all ones if True."""
    def edit(records: dict[str, LayerRecord]) -> None:
        for record in records.values():
            record.du_nonzero = np.full_like(record.du_nonzero, value)
            record.du_values = None
            if value:
                record.h_mask = np.ones_like(record.h_mask)
    return edit


@pytest.fixture(scope="session")
def tiny_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trace(tmp_path_factory.mktemp("traces") / "tiny.h5")


@pytest.fixture(scope="session")
def trace_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    folder = tmp_path_factory.mktemp("made")
    made: dict[str, Path] = {}

    def make(name: str, **kwargs) -> Path:
        if name not in made:
            made[name] = write_trace(folder / f"{name}.h5", **kwargs)
        return made[name]
    return make


@pytest.fixture(autouse=True)
def results_match_schema(monkeypatch: pytest.MonkeyPatch):
    """Every results dict the tool produces in a test must match the shipped JSON Schema.

    ``Results.to_dict`` is what every results file and sweep record is written
    from (``reports.export.results_json``), so checking it here checks every
    results file the tests write, without each test having to ask.
    """
    from reports.results import Results
    from reports.schema_check import results_errors

    problems: list[str] = []
    original = Results.to_dict

    def checked(self: Results):
        data = original(self)
        problems.extend(results_errors(data)[:5])
        return data

    monkeypatch.setattr(Results, "to_dict", checked)
    yield
    assert problems == [], "a results file breaks reports/results.schema.json"
