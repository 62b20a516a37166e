"""Record a run's transaction stream; replaying it must agree with full simulation."""

from __future__ import annotations

import pytest

from reports.results import build_results
from tlm.app.api import run_iterations
from tlm.app.cli import main
from tlm.config import config_from_dict
from tlm.app.replay import ReplayError, record_stream, replay
from traces.reader import open_trace


@pytest.fixture(scope="module")
def recording(tiny_trace, tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "stream.h5"
    cfg = config_from_dict({})
    with open_trace(tiny_trace) as reader:
        runs = run_iterations(reader, cfg, record=True)
        record_stream(path, reader.meta, cfg, runs, str(tiny_trace))
    return path


def full(trace, overrides):
    cfg = config_from_dict(overrides)
    with open_trace(trace) as reader:
        return build_results(reader.meta, cfg, run_iterations(reader, cfg))


@pytest.mark.parametrize("overrides", [
    {},
    {"dram.preset": "ddr4-3200"},
    {"dram.preset": "lpddr4-3200", "dram.channels": 1, "pipeline.mode": "serial"},
    {"dram.model": "bandwidth", "dram.peak_gbps_per_channel": 2.0},
    {"pipeline.du_channel_tiles": 8, "clock_mhz": 500.0},
    {"fe.input_buffer_kib": 2048},   # larger, but the same tiling
])
def test_replay_agrees_with_full_simulation(tiny_trace, recording, overrides):
    replayed = replay(recording, overrides)
    simulated = full(tiny_trace, overrides)
    assert replayed.total_cycles == pytest.approx(simulated.total_cycles, rel=0.01)
    assert replayed.engines == simulated.engines
    assert replayed.dram["bytes_read"] == simulated.dram["bytes_read"]
    assert replayed.energy_pj["total"] == pytest.approx(simulated.energy_pj["total"])


def test_replay_on_another_memory_changes_the_timing(recording):
    assert replay(recording, {"dram.preset": "lpddr4-3200", "dram.channels": 1}).total_cycles \
        > replay(recording).total_cycles


@pytest.mark.parametrize("key,value,why", [
    ("fe.lut_k", 8, "compute or move"),
    ("be.sparsity", "dense", "compute or move"),
    ("fe.input_buffer_kib", 1, "tiling"),
])
def test_stream_changing_configs_are_refused(recording, key, value, why):
    with pytest.raises(ReplayError, match=f"{key}.*{why}"):
        replay(recording, {key: value})


def test_replay_cli_reports_and_refuses_cleanly(recording, tmp_path, capsys):
    assert main(["replay", str(recording), "--set", "dram.preset=hbm2", "--json", "-"]) == 0
    assert '"total_cycles"' in capsys.readouterr().out
    assert main(["replay", str(recording), "--set", "fe.lut_k=2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("h2learn: error: fe.lut_k")
    bogus = tmp_path / "bogus.h5"
    bogus.write_bytes(b"not hdf5")
    assert main(["replay", str(bogus)]) == 2
    assert "not an HDF5 file" in capsys.readouterr().err


def test_run_record_writes_a_stream(tiny_trace, tmp_path):
    path = tmp_path / "r.h5"
    assert main(["run", str(tiny_trace), "--record", str(path), "--json", str(tmp_path / "r.json")]) == 0
    assert path.exists() and replay(path).total_cycles > 0


def test_outputs_are_checked_before_simulating(capsys, tmp_path):
    assert main(["run", "--json", str(tmp_path / "missing" / "r.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]
    assert main(["run", "--csv", str(tmp_path / "l.csv"), "--json", "-"]) == 0
    assert (tmp_path / "l.csv").read_text().startswith("index,name,kind,phase")
