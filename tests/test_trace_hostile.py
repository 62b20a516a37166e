"""Issue 9 items 2-4: run checks structure on open, no damage reads as zeros, header values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest

from tlm.app.cli import main
from traces.errors import TraceError
from traces.reader import open_trace
from traces.validate import validate_trace


def damaged(src: Path, tmp_path: Path, damage: Callable[[h5py.File], None]) -> Path:
    out = tmp_path / "bad.h5"
    shutil.copy(src, out)
    with h5py.File(out, "r+") as f:
        damage(f)
    return out


def run_and_check_refuse(path: Path, capsys, expected: str) -> None:
    """Both `trace check` and `run` refuse with one line naming the problem, exit 2."""
    for argv in (["trace", "check", str(path)], ["run", str(path)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], (argv, err)


def _set(name, value):
    return lambda f: f.attrs.__setitem__(name, value)


def _it_attr(name, value):
    return lambda f: f["iterations/0"].attrs.__setitem__(name, value)


def _net(edit):
    def damage(f):
        net = json.loads(f.attrs["network"])
        edit(net)
        f.attrs["network"] = json.dumps(net)
    return damage


def _extra_iteration(f):
    f.copy("iterations/0", "iterations/1")


def _drop_last_layer_tensor(f):
    last = sorted(f["iterations/0/layers"])[-1]
    del f[f"iterations/0/layers/{last}/h_mask"]


def _layer_attr(f):
    f["iterations/0/layers/conv1"].attrs["kind"] = "fc"


def _padding(f):
    ds = f["iterations/0/layers/fc2/output_spikes"]  # fc2 has 10 neurons: 6 padding bits
    data = ds[()]
    data[0, 0, -1] |= 0x80
    ds[...] = data


def _no_chunks(f):
    """Re-create a dataset with the same shape but no data written: every chunk unallocated."""
    where = "iterations/0/layers/fc1/h_mask"
    ds = f[where]
    shape, chunks = ds.shape, ds.chunks
    del f[where]
    f.create_dataset(where, shape=shape, dtype=np.uint8, chunks=chunks, compression="gzip")


def _du_mismatch(f):
    ds = f["iterations/0/layers/fc1/du_values"]
    data = ds[()]
    data[0, 0, 0] = 0 if data[0, 0, 0] != 0 else 1
    ds[...] = data


CASES = [
    (_set("timesteps", 2**62), "/@timesteps"),
    (_set("batch", 200000), "(4, 200000, 18), found uint8 (4, 4, 18)"),
    (_set("batch", 2**40), "/@batch"),
    (_set("vth", float("nan")), "/@vth"),
    (_set("tau", float("inf")), "/@tau"),
    (_set("surrogate_width", -1.0), "/@surrogate_width"),
    (_it_attr("iteration", float("-inf")), "/iterations/0/@iteration"),
    (_it_attr("loss", float("-inf")), "/iterations/0/@loss"),
    (_net(lambda n: n["layers"][0]["out_shape"].__setitem__(0, 4.5)), "whole number"),
    (_net(lambda n: n["layers"][-1]["out_shape"].__setitem__(0, 10**12)), "out of range"),
    (_extra_iteration, "expected iteration groups 0..0"),
    (_drop_last_layer_tensor, "h_mask: expected a dataset"),
    (_layer_attr, "conv1/@kind"),
    (_padding, "padding bits"),
    (_no_chunks, "stored chunks"),
]


@pytest.mark.parametrize("damage, expected", CASES, ids=[e for _, e in CASES])
def test_run_refuses_what_trace_check_refuses(tiny_trace, tmp_path, capsys, damage, expected):
    run_and_check_refuse(damaged(tiny_trace, tmp_path, damage), capsys, expected)


def test_du_values_mismatch_refused_by_both(trace_factory, tmp_path, capsys):
    src = tmp_path / "du.h5"
    assert main(["trace", "gen", "--workload", "tiny-cnn", "--source", "synthetic",
                 "--batch", "2", "--timesteps", "2", "--du-values", "-o", str(src)]) == 0
    capsys.readouterr()
    run_and_check_refuse(damaged(src, tmp_path, _du_mismatch), capsys, "du_nonzero == ")


def test_written_traces_carry_fletcher32_and_a_flipped_bit_is_an_error(tiny_trace, tmp_path):
    with h5py.File(tiny_trace) as f:
        ds = f["iterations/0/layers/conv1/output_spikes"]
        assert ds.fletcher32
        offset = ds.id.get_chunk_info(0).byte_offset
    bad = tmp_path / "flip.h5"
    shutil.copy(tiny_trace, bad)
    data = bytearray(bad.read_bytes())
    data[offset + 2] ^= 0x10
    bad.write_bytes(bytes(data))
    with pytest.raises(TraceError, match="conv1/output_spikes"):
        validate_trace(bad)


def test_files_without_checksums_still_read(tiny_trace, tmp_path):
    plain = tmp_path / "plain.h5"
    shutil.copy(tiny_trace, plain)
    with h5py.File(plain, "r+") as f:  # re-create every stored dataset without the filter
        def strip(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.fletcher32:
                found.append(name)
        found: list[str] = []
        f.visititems(strip)
        for name in found:
            data, chunks = f[name][()], f[name].chunks
            del f[name]
            f.create_dataset(name, data=data, chunks=chunks, compression="gzip")
    summary = validate_trace(plain)
    assert summary.iterations == 1
    with open_trace(plain) as reader:
        assert not reader.h5file["iterations/0/layers/conv1/output_spikes"].fletcher32
