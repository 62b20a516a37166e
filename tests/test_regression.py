"""Bit-identical reference results: speed work must not move a single number.

tests/golden/reference_results.json holds the full JSON results (wall clock and
other run-environment fields dropped) of small synthetic traces of the reference
workloads on the default configuration, and of the embedded sample trace. Every
simulated number must match exactly, for a full run, for a run through the
streaming trace reader's cache at its smallest size, for a replay of the
recorded stream and for ``run --jobs 2`` on a two-iteration trace.

When a model change moves the numbers on purpose, refresh it deliberately and
review the diff:

    H2LEARN_REFRESH_GOLDEN=1 python -m pytest tests/test_regression.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reports.export import results_json
from reports.results import Results
from tlm.app.api import simulate
from tlm.app.replay import replay
from traces.synthetic import generate_trace
from traces.workloads import get_workload

GOLDEN = Path(__file__).parent / "golden" / "reference_results.json"
REFRESH = os.environ.get("H2LEARN_REFRESH_GOLDEN") == "1"
# (name, workload, batch, timesteps, iterations): small enough for the suite,
# with every layer kind of the reference networks (conv, pool, fc)
CASES = [("tiny-cnn", "tiny-cnn", 4, 4, 1), ("tiny-mlp", "tiny-mlp", 4, 3, 2),
         ("mnist-cnn", "mnist-cnn", 2, 3, 1), ("cifar10-cifarnet", "cifar10-cifarnet", 2, 2, 1)]
# fields that describe the run environment (wall clock, host, version), not the model
UNSIMULATED = ("simulator", "provenance", "producer", "trace")


def simulated(results: Results) -> dict:
    """The results JSON without the fields that legitimately differ between runs."""
    data = json.loads(results_json(results))
    return {key: value for key, value in data.items() if key not in UNSIMULATED}


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reference")
    made = {}
    for name, workload, batch, timesteps, iterations in CASES:
        made[name] = folder / f"{name}.h5"
        generate_trace(made[name], get_workload(workload), batch=batch, timesteps=timesteps,
                       iterations=iterations, seed=0)
    return made


@pytest.fixture(scope="module")
def found(traces: dict[str, Path]) -> dict[str, dict]:
    results = {name: simulated(simulate(path)) for name, path in traces.items()}
    results["sample"] = simulated(simulate())
    return results


@pytest.fixture(scope="module")
def golden(found: dict[str, dict]) -> dict[str, dict]:
    if REFRESH:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    assert GOLDEN.exists(), f"no reference results; create them with H2LEARN_REFRESH_GOLDEN=1 ({GOLDEN})"
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("name", [case[0] for case in CASES] + ["sample"])
def test_results_are_bit_identical_to_the_reference(name: str, found: dict, golden: dict) -> None:
    assert name in golden, f"{name}: not in {GOLDEN.name}; refresh it (see module doc)"
    assert json.dumps(found[name], sort_keys=True) == json.dumps(golden[name], sort_keys=True), \
        f"{name}: simulated results changed; if intended, refresh (see module doc)"


def test_a_tiny_trace_cache_changes_nothing(traces: dict[str, Path], found: dict,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The trace cache only saves reads: evicting all the time, the results are the same."""
    import tlm.system
    from tlm.traceview import TraceView
    monkeypatch.setattr(tlm.system, "TraceView",
                        lambda reader, iteration, _: TraceView(reader, iteration, 4096))
    assert simulated(simulate(traces["mnist-cnn"])) == found["mnist-cnn"]


def test_replay_reproduces_the_run(traces: dict[str, Path], found: dict, tmp_path: Path) -> None:
    from tlm.app.cli import main
    recording = tmp_path / "cifar.stream.h5"
    assert main(["run", str(traces["cifar10-cifarnet"]), "--record", str(recording),
                 "--json", str(tmp_path / "run.json")]) == 0
    assert simulated(replay(recording)) == found["cifar10-cifarnet"]


def test_jobs_2_gives_the_results_of_jobs_1(traces: dict[str, Path], found: dict,
                                             tmp_path: Path) -> None:
    from tlm.app.cli import main
    out = tmp_path / "jobs2.json"
    assert main(["run", str(traces["tiny-mlp"]), "--jobs", "2", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {k: v for k, v in data.items() if k not in UNSIMULATED} == found["tiny-mlp"]


def test_jobs_with_record_is_refused(traces: dict[str, Path], tmp_path: Path, capsys) -> None:
    from tlm.app.cli import main
    assert main(["run", str(traces["tiny-mlp"]), "--jobs", "2",
                 "--record", str(tmp_path / "r.h5")]) == 2
    assert "--jobs and --record" in capsys.readouterr().err


def test_jobs_2_reports_a_bad_iteration_in_one_line(traces: dict[str, Path], tmp_path: Path,
                                                    capsys) -> None:
    import shutil

    import h5py
    from tlm.app.cli import main
    bad = tmp_path / "bad.h5"
    shutil.copy(traces["tiny-mlp"], bad)
    with h5py.File(bad, "r+") as f:
        layers = f["iterations/1/layers"]
        group = layers[next(iter(layers))]
        data = group["h_mask"][()]
        del group["h_mask"]
        group.create_dataset("h_mask", data=data[:, :1])
    assert main(["run", str(bad), "--jobs", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "iterations/1" in err and "h_mask" in err
