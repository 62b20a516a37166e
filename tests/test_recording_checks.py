"""Issue 9 item 6: replay validates its recording (header sha256, tables, codes)."""

import json
import shutil

import h5py
import pytest

from tlm.app.cli import main


@pytest.fixture(scope="module")
def recording(tiny_trace, tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "r.stream.h5"
    assert main(["run", str(tiny_trace), "--record", str(path)]) == 0
    return path


def _damaged(recording, tmp_path, damage):
    out = tmp_path / "bad.stream.h5"
    shutil.copy(recording, out)
    with h5py.File(out, "r+") as h5:
        damage(h5)
    return out


def _relabel(h5):
    header = json.loads(h5.attrs["header"])
    header["config"]["fe"]["lut_k"] = 8
    h5.attrs["header"] = json.dumps(header)


def _code(h5):
    jobs = h5["iterations/0/jobs"][()]
    jobs["engine"][0] = 200
    del h5["iterations/0/jobs"]
    h5["iterations/0/jobs"] = jobs


def _negative_length(h5):
    rows = h5["iterations/0/accesses"][()]
    rows["length"][0] = -5
    del h5["iterations/0/accesses"]
    h5["iterations/0/accesses"] = rows


def _drop_table(h5):
    del h5["iterations/0/links"]


def _iterations_inf(h5):
    h5.attrs["iterations"] = float("-inf")


@pytest.mark.parametrize("damage, expected", [
    (_relabel, "header was edited"),
    (_code, "jobs/engine: expected codes in"),
    (_negative_length, "accesses/length: expected non-negative"),
    (_drop_table, "expected tables"),
    (_iterations_inf, "/@iterations"),
])
def test_replay_refuses_a_damaged_recording_with_one_line(recording, tmp_path, capsys, damage, expected):
    bad = _damaged(recording, tmp_path, damage)
    assert main(["replay", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err


def test_recordings_without_a_header_digest_still_replay(recording, tmp_path):
    old = _damaged(recording, tmp_path, lambda h5: h5.attrs.__delitem__("header_sha256"))
    assert main(["replay", str(old)]) == 0


def test_a_replay_probes_and_opens_its_recording_once(recording, monkeypatch):
    from traces import txstream
    calls = {"probe": 0, "open": 0}
    real_probe, real_file = txstream.probe_metadata, txstream.h5py.File

    def probe(*args, **kwargs):
        calls["probe"] += 1
        return real_probe(*args, **kwargs)

    def open_file(*args, **kwargs):
        calls["open"] += 1
        return real_file(*args, **kwargs)
    monkeypatch.setattr(txstream, "probe_metadata", probe)
    monkeypatch.setattr(txstream.h5py, "File", open_file)  # the probe's child opens its own
    assert main(["replay", str(recording), "--json", "-"]) == 0
    assert calls == {"probe": 1, "open": 1}
