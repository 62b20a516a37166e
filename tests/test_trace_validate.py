"""The validator: a good trace passes; each kind of damage gives one precise line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest

from traces.errors import TraceError
from traces.reader import open_trace
from traces.synthetic import SyntheticParams, generate_trace
from traces.validate import validate_trace
from traces.workloads import WORKLOADS

TINY = WORKLOADS["tiny-cnn"]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.h5"
    generate_trace(path, TINY, SyntheticParams(du_values=True), iterations=2, batch=4)
    return path


def damaged(good: Path, tmp_path: Path, damage: Callable[[h5py.File], None]) -> Path:
    path = tmp_path / "bad.h5"
    path.write_bytes(good.read_bytes())
    with h5py.File(path, "r+") as f:
        damage(f)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(TraceError) as info:
        validate_trace(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_good_trace_passes(good: Path) -> None:
    summary = validate_trace(good)
    assert (summary.workload, summary.iterations, summary.timesteps, summary.batch) == (
        "tiny-cnn", 2, TINY.timesteps, 4)
    assert summary.layers == ("conv1", "avgpool1", "fc1", "fc2") and summary.has_du_values


def test_missing_file(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.h5").endswith(": /: no such file")


def test_not_hdf5(tmp_path: Path) -> None:
    (tmp_path / "x.h5").write_text("hello\n")
    assert "not an HDF5 file" in error_of(tmp_path / "x.h5")


@pytest.mark.parametrize("keep", [0.3, 0.8, 0.97])
def test_truncated_file(good: Path, tmp_path: Path, keep: float) -> None:
    data = good.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[:int(len(data) * keep)])
    error_of(tmp_path / "cut.h5")


def test_foreign_hdf5(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["data"] = np.arange(3)
    assert ": /@schema: attribute missing" in error_of(tmp_path / "f.h5")


def test_unknown_major_version(good: Path, tmp_path: Path) -> None:
    def bump(f: h5py.File) -> None:
        f.attrs["schema_version"] = "2.0.0"
    message = error_of(damaged(good, tmp_path, bump))
    assert "/@schema_version: schema version 2.0.0 is not supported" in message


def test_newer_minor_version_is_accepted(good: Path, tmp_path: Path) -> None:
    def bump(f: h5py.File) -> None:
        f.attrs["schema_version"] = "1.4.2"
    assert validate_trace(damaged(good, tmp_path, bump)).schema_version == "1.4.2"


def test_wrong_attribute_type(good: Path, tmp_path: Path) -> None:
    def retype(f: h5py.File) -> None:
        f.attrs["timesteps"] = "eight"
    assert "/@timesteps: expected int, found str" in error_of(damaged(good, tmp_path, retype))


def test_missing_root_attribute(good: Path, tmp_path: Path) -> None:
    def drop(f: h5py.File) -> None:
        del f.attrs["tau"]
    assert error_of(damaged(good, tmp_path, drop)).endswith("/@tau: attribute missing")


def test_missing_dataset(good: Path, tmp_path: Path) -> None:
    def drop(f: h5py.File) -> None:
        del f["iterations/1/layers/fc1/h_mask"]
    assert "/iterations/1/layers/fc1/h_mask: expected a dataset" in error_of(
        damaged(good, tmp_path, drop))


def test_wrong_dtype(good: Path, tmp_path: Path) -> None:
    def retype(f: h5py.File) -> None:
        data = f["iterations/0/layers/conv1/du_nonzero"][()]
        del f["iterations/0/layers/conv1/du_nonzero"]
        f["iterations/0/layers/conv1/du_nonzero"] = data.astype(np.int16)
    message = error_of(damaged(good, tmp_path, retype))
    assert "/iterations/0/layers/conv1/du_nonzero: expected uint8 (8, 4, 144), found int16" in message


def test_wrong_dataset_shape(good: Path, tmp_path: Path) -> None:
    def reshape(f: h5py.File) -> None:
        del f["iterations/0/layers/fc2/output_spikes"]
        f["iterations/0/layers/fc2/output_spikes"] = np.zeros((8, 4, 3), np.uint8)
    assert "expected uint8 (8, 4, 2), found uint8 (8, 4, 3)" in error_of(
        damaged(good, tmp_path, reshape))


def test_mismatched_layer_shapes_in_network(good: Path, tmp_path: Path) -> None:
    def break_chain(f: h5py.File) -> None:
        net = json.loads(f.attrs["network"])
        net["layers"][2]["in_shape"] = [300]
        f.attrs["network"] = json.dumps(net)
    message = error_of(damaged(good, tmp_path, break_chain))
    assert "/@network:" in message and "expected (288,)" in message


def test_layer_group_disagrees_with_network(good: Path, tmp_path: Path) -> None:
    def relabel(f: h5py.File) -> None:
        f["iterations/0/layers/fc1"].attrs["kind"] = "conv"
    assert "/iterations/0/layers/fc1/@kind: expected 'fc'" in error_of(
        damaged(good, tmp_path, relabel))


def test_nonzero_padding_bits(good: Path, tmp_path: Path) -> None:
    def pad(f: h5py.File) -> None:  # fc2 has 10 neurons: bits 2..7 of byte 1 are padding
        f["iterations/0/layers/fc2/h_mask"][5, 1, 1] = 0b1000_0000
    assert "padding bits beyond neuron 10 must be 0, found set bits at t=5" in error_of(
        damaged(good, tmp_path, pad))


def test_du_nonzero_must_match_du_values(good: Path, tmp_path: Path) -> None:
    def flip(f: h5py.File) -> None:
        f["iterations/1/layers/avgpool1/du_values"][3] = 0
    assert "/iterations/1/layers/avgpool1/du_values: expected du_nonzero == (du_values != 0)" in (
        error_of(damaged(good, tmp_path, flip)))


def test_stored_input_must_equal_previous_output(good: Path, tmp_path: Path) -> None:
    def copy_wrong(f: h5py.File) -> None:
        g = f["iterations/0/layers/fc1"]
        data = g["input_spikes"][()]
        data[0, 0, 0] ^= 1
        del g["input_spikes"]
        g["input_spikes"] = data
    assert "fc1/input_spikes: expected the previous layer's output_spikes" in error_of(
        damaged(good, tmp_path, copy_wrong))


def test_iteration_count_mismatch(good: Path, tmp_path: Path) -> None:
    def more(f: h5py.File) -> None:
        f.attrs["iterations"] = 3
    assert "/iterations/2: iteration group missing" in error_of(damaged(good, tmp_path, more))


def test_reader_rejects_wrong_shape_on_open(good: Path, tmp_path: Path) -> None:
    def reshape(f: h5py.File) -> None:
        del f["iterations/0/layers/fc2/output_spikes"]
        f["iterations/0/layers/fc2/output_spikes"] = np.zeros((8, 5, 2), np.uint8)
    with pytest.raises(TraceError, match="found uint8 \\(8, 5, 2\\)"):
        open_trace(damaged(good, tmp_path, reshape))
