"""``h2learn trace gen | info | check`` end to end: output, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import h5py
import pytest

from tlm.app.commands import trace as trace_cmd
from traces.identity import content_sha256, file_sha256


def h2learn(*argv: str) -> int:
    """Run the trace commands as ``h2learn`` would (its parser, our sub-commands)."""
    parser = argparse.ArgumentParser(prog="h2learn")
    trace_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def one_error_line(capsys: pytest.CaptureFixture[str], code: int, *fragments: str) -> str:
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("h2learn: error: ")
    assert "Traceback" not in err + out
    for fragment in fragments:
        assert fragment in err
    return err


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "t.h5"
    assert h2learn("trace", "gen", "--workload", "tiny-cnn", "--source", "synthetic", "-o",
                   str(path), "--batch", "4", "--iterations", "2", "--seed", "3") == 0
    return path


def test_gen_then_check(trace_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert h2learn("trace", "check", str(trace_file)) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"ok: {trace_file}\n  schema 1.0.0, workload tiny-cnn, 2 iteration(s)")
    assert "B=4" in out and err == ""


def test_info_shows_header_and_layers(trace_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert h2learn("trace", "info", str(trace_file)) == 0
    out = capsys.readouterr().out
    assert "workload tiny-cnn" in out and "iterations=2" in out and "compression" in out
    for name in ("conv1", "avgpool1", "fc1", "fc2"):
        assert name in out
    assert f"sha256 {file_sha256(trace_file)}" in out
    assert f"content sha256 {content_sha256(trace_file)}" in out


def test_gen_from_network_file_with_overrides(tmp_path: Path) -> None:
    (tmp_path / "n.toml").write_text(
        'topology = "FC20-FC5"\ninput_shape = [30]\ntimesteps = 4\nbatch = 2\n')
    out = tmp_path / "n.h5"
    assert h2learn("trace", "gen", "--network", str(tmp_path / "n.toml"), "-o", str(out),
                   "--firing-rate", "0.3", "--du-values") == 0
    with h5py.File(out) as f:
        assert f.attrs["workload"] == "n" and "du_values" in f["iterations/0/layers/fc1"]


@pytest.mark.skipif(importlib.util.find_spec("traces.trainer") is None, reason="no trainer")
def test_gen_from_trainer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tr.h5"
    assert h2learn("trace", "gen", "--workload", "tiny-mlp", "--source", "trainer", "-o",
                   str(out), "--batch", "4", "--timesteps", "4", "--train-iterations", "3",
                   "--iterations", "2") == 0
    assert h2learn("trace", "check", str(out)) == 0
    assert "2 iteration(s)" in capsys.readouterr().out
    with h5py.File(out) as f:
        assert [f[f"iterations/{k}"].attrs["iteration"] for k in range(2)] == [1, 2]
        assert f.attrs["producer"] == "h2learn-tlm trainer"


def test_check_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one_error_line(capsys, h2learn("trace", "check", str(tmp_path / "no.h5")), "no such file")


def test_info_non_hdf5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.h5").write_bytes(b"\x89not hdf5 at all" * 10)
    one_error_line(capsys, h2learn("trace", "info", str(tmp_path / "x.h5")), "not an HDF5 file")


def test_check_truncated(trace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = trace_file.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[:len(data) // 2])
    one_error_line(capsys, h2learn("trace", "check", str(tmp_path / "cut.h5")), str(tmp_path))


def _damaged(trace_file: Path, tmp_path: Path, edit) -> Path:
    path = tmp_path / "bad.h5"
    path.write_bytes(trace_file.read_bytes())
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def test_check_missing_dataset(trace_file: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _damaged(trace_file, tmp_path, lambda f: f.__delitem__("iterations/0/layers/fc2/h_mask"))
    one_error_line(capsys, h2learn("trace", "check", str(path)), "/iterations/0/layers/fc2/h_mask")


def test_check_wrong_dtype(trace_file: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    def edit(f: h5py.File) -> None:
        data = f["iterations/1/layers/fc1/output_spikes"][()]
        del f["iterations/1/layers/fc1/output_spikes"]
        f["iterations/1/layers/fc1/output_spikes"] = data.astype("f4")
    one_error_line(capsys, h2learn("trace", "check", str(_damaged(trace_file, tmp_path, edit))),
                   "fc1/output_spikes", "expected uint8", "found float32")


def test_check_mismatched_layer_shapes(trace_file: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    def edit(f: h5py.File) -> None:
        f.attrs["network"] = f.attrs["network"].replace('"in_shape": [288]', '"in_shape": [280]')
    one_error_line(capsys, h2learn("trace", "info", str(_damaged(trace_file, tmp_path, edit))),
                   "/@network", "(288,)")


def test_check_unknown_major(trace_file: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    path = _damaged(trace_file, tmp_path, lambda f: f.attrs.__setitem__("schema_version", "3.1.0"))
    one_error_line(capsys, h2learn("trace", "check", str(path)), "/@schema_version", "3.1.0")


@pytest.mark.parametrize("argv, fragment", [
    (["--workload", "no-such-net"], "unknown workload 'no-such-net'"),
    (["--workload", "tiny-cnn", "--batch", "0"], "--batch must be at least 1"),
    (["--workload", "tiny-cnn", "--du-density", "1.5"], "du_density = 1.5"),
    (["--network", "/no/such.toml"], "/no/such.toml: cannot read"),
])
def test_gen_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                    fragment: str) -> None:
    code = h2learn("trace", "gen", *argv, "-o", str(tmp_path / "o.h5"))
    one_error_line(capsys, code, fragment)
    assert not (tmp_path / "o.h5").exists()


def test_gen_to_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = h2learn("trace", "gen", "--workload", "tiny-cnn", "-o", str(tmp_path / "no" / "o.h5"))
    one_error_line(capsys, code, "cannot write")


def test_gen_from_a_reference_recipe(tmp_path):
    out = tmp_path / "recipe.h5"
    assert h2learn("trace", "gen", "--workload", "mnist-cnn", "--source", "recipe", "--batch", "2",
                   "--timesteps", "3", "--train-iterations", "1", "-o", str(out)) == 0
    assert h2learn("trace", "check", str(out)) == 0


def test_gen_recipe_without_a_reference_recipe_is_one_line(tmp_path, capsys):
    code = h2learn("trace", "gen", "--workload", "tiny-cnn", "--source", "recipe",
                   "-o", str(tmp_path / "x.h5"))
    one_error_line(capsys, code, "no reference recipe")


@pytest.mark.parametrize("option", ["--batch", "--timesteps"])
def test_gen_of_an_impossible_size_is_one_line_and_writes_nothing(tmp_path, capsys, option):
    out = tmp_path / "big.h5"
    one_error_line(capsys, h2learn("trace", "gen", "--workload", "tiny-cnn", option, str(10**12),
                                   "-o", str(out)), "GiB limit")
    assert not out.exists()
