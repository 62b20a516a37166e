"""Trace writer and reader: round trips, links, atomic writes, streaming memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traces import schema
from traces.errors import TraceError
from traces.reader import layer_stats, open_trace, unpacked_bytes
from traces.record import TENSORS, LayerRecord
from traces.synthetic import SyntheticParams, generate_trace, synthesize_iteration
from traces.workloads import WORKLOADS
from traces.writer import TraceWriter, header_for_workload

TINY = WORKLOADS["tiny-cnn"]


def records(seed: int = 0, du_values: bool = False) -> dict[str, LayerRecord]:
    return synthesize_iteration(TINY, SyntheticParams(du_values=du_values), seed=seed)


def write(path: Path, iterations: int = 2, du_values: bool = False) -> list[dict[str, LayerRecord]]:
    recs = [records(seed=k, du_values=du_values) for k in range(iterations)]
    with TraceWriter(path, header_for_workload(TINY, producer="test")) as writer:
        for k, rec in enumerate(recs):
            writer.write_iteration(10 + k, rec, loss=0.5 - k / 10, accuracy=0.25 * k)
    return recs


@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.integers(1, 3), st.data())
@settings(max_examples=60, deadline=None)
def test_pack_unpack_round_trip(shape: list[int], lead: int, data: st.DataObject) -> None:
    shape = tuple(shape[:-1]) + (shape[-1] * data.draw(st.integers(1, 7)),)
    bits = np.array(data.draw(st.lists(st.booleans(), min_size=lead * int(np.prod(shape)),
                                       max_size=lead * int(np.prod(shape)))), dtype=bool)
    bits = bits.reshape(lead, *shape)
    packed = schema.pack_bits(bits, 1)
    assert packed.shape == (lead, schema.packed_width(int(np.prod(shape))))
    assert np.array_equal(schema.unpack_bits(packed, shape), bits)
    pad = schema.padding_mask(int(np.prod(shape)))
    assert not np.any(packed[..., -1] & pad)


def test_bit_order_is_little_endian_within_a_byte() -> None:
    bits = np.zeros((1, 10), dtype=bool)
    bits[0, 0] = bits[0, 9] = True
    assert schema.pack_bits(bits, 1).tolist() == [[0b00000001, 0b00000010]]


def test_round_trip_every_tensor_by_name_and_index(tmp_path: Path) -> None:
    recs = write(tmp_path / "t.h5")
    with open_trace(tmp_path / "t.h5") as reader:
        for k, rec in enumerate(recs):
            for i, spec in enumerate(TINY.network.layers):
                for tensor in TENSORS:
                    want = getattr(rec[spec.name], tensor)
                    assert np.array_equal(reader.read(k, spec.name, tensor), want)
                    assert np.array_equal(reader.read(k, i, tensor, t=3), want[3])


def test_meta_describes_the_trace(tmp_path: Path) -> None:
    write(tmp_path / "t.h5")
    meta = open_trace(tmp_path / "t.h5").meta
    assert (meta.schema_version, meta.producer, meta.workload) == ("1.0.0", "test", "tiny-cnn")
    assert (meta.timesteps, meta.batch, meta.iterations) == (TINY.timesteps, TINY.batch, 2)
    assert meta.neuron == TINY.neuron and meta.network == TINY.network
    assert [(i.iteration, i.loss, i.accuracy) for i in meta.iteration_info] == [
        (10, 0.5, 0.0), (11, 0.4, 0.25)]


def test_inputs_of_later_layers_are_soft_links_and_chunks_hold_one_timestep(tmp_path: Path) -> None:
    write(tmp_path / "t.h5", iterations=1)
    with h5py.File(tmp_path / "t.h5") as f:
        layers = f["iterations/0/layers"]
        assert isinstance(layers["conv1"].get("input_spikes", getlink=True), h5py.HardLink)
        link = layers["fc1"].get("input_spikes", getlink=True)
        assert isinstance(link, h5py.SoftLink)
        assert link.path == "/iterations/0/layers/avgpool1/output_spikes"
        ds = layers["conv1/output_spikes"]
        assert ds.dtype == np.uint8 and ds.chunks == (1, TINY.batch, 144)
        assert ds.compression == "gzip"


def test_reader_accepts_a_real_dataset_instead_of_a_link(tmp_path: Path) -> None:
    recs = write(tmp_path / "t.h5", iterations=1)
    with h5py.File(tmp_path / "t.h5", "r+") as f:
        g = f["iterations/0/layers/fc1"]
        data = g["input_spikes"][()]
        del g["input_spikes"]
        g.create_dataset("input_spikes", data=data)
    with open_trace(tmp_path / "t.h5") as reader:
        assert np.array_equal(reader.read(0, "fc1", "input_spikes"), recs[0]["fc1"].input_spikes)


def test_du_values_round_trip(tmp_path: Path) -> None:
    recs = write(tmp_path / "t.h5", iterations=1, du_values=True)
    with open_trace(tmp_path / "t.h5") as reader:
        assert reader.has_du_values
        got = reader.read_du_values(0, "conv1", t=2)
        assert got.dtype == np.float16 and np.array_equal(got, recs[0]["conv1"].du_values[2])
    write(tmp_path / "n.h5", iterations=1)
    assert not open_trace(tmp_path / "n.h5").has_du_values


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with TraceWriter(tmp_path / "t.h5", header_for_workload(TINY, producer="test")) as w:
            w.write_iteration(0, records())
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_incomplete_iteration_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="not every timestep written"):
        with TraceWriter(tmp_path / "t.h5", header_for_workload(TINY, producer="test")) as w:
            it = w.begin_iteration(0)
            it.write(0, "input_spikes", 0, np.zeros((TINY.batch, 1, 12, 12), bool))
    assert list(tmp_path.iterdir()) == []


def test_write_iteration_rejects_broken_chaining(tmp_path: Path) -> None:
    rec = records()
    rec["fc1"].input_spikes[0, 0, 0] ^= True
    with pytest.raises(ValueError, match="fc1.input_spikes differs"):
        with TraceWriter(tmp_path / "t.h5", header_for_workload(TINY, producer="test")) as w:
            w.write_iteration(0, rec)
    assert list(tmp_path.iterdir()) == []


def test_stats_count_densities(tmp_path: Path) -> None:
    recs = write(tmp_path / "t.h5")
    with open_trace(tmp_path / "t.h5") as reader:
        stats = {s.name: s for s in layer_stats(reader)}
        assert unpacked_bytes(reader.meta, False) == 2 * TINY.timesteps * TINY.batch * (
            144 + 3 * sum(spec.out_neurons for spec in TINY.network.layers))
    for name in ("conv1", "fc2"):
        both = [r[name] for r in recs]
        assert stats[name].firing_rate == pytest.approx(np.mean([r.output_spikes.mean() for r in both]))
        assert stats[name].h_density == pytest.approx(np.mean([r.h_mask.mean() for r in both]))
        assert stats[name].du_density == pytest.approx(np.mean([r.du_nonzero.mean() for r in both]))
    assert stats["fc1"].input_rate == pytest.approx(stats["avgpool1"].firing_rate)


def _streaming_peak_bytes(path: Path) -> int:
    with open_trace(path) as reader:
        tracemalloc.start()
        for k in range(reader.meta.iterations):
            for i in range(len(reader.meta.network.layers)):
                for tensor in TENSORS:
                    for _ in reader.stream(k, i, tensor):
                        pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_streaming_memory_does_not_grow_with_trace_length(tmp_path: Path) -> None:
    params = SyntheticParams()
    generate_trace(tmp_path / "short.h5", TINY, params, timesteps=2, batch=32)
    generate_trace(tmp_path / "long.h5", TINY, params, timesteps=24, batch=32)
    with open_trace(tmp_path / "long.h5") as reader:
        dense = unpacked_bytes(reader.meta, False)
    short, long = _streaming_peak_bytes(tmp_path / "short.h5"), _streaming_peak_bytes(tmp_path / "long.h5")
    assert long < 1.5 * short + 64 * 1024
    assert long < dense / 20


def test_embedded_sample_is_a_small_valid_trainer_trace() -> None:
    from traces.sample import sample_trace_path
    from traces.validate import validate_trace

    path = sample_trace_path()
    summary = validate_trace(path)
    assert summary.workload == "tiny-cnn" and summary.iterations == 2 and summary.has_du_values
    assert path.stat().st_size < 1_000_000
    with open_trace(path) as reader:
        assert reader.meta.producer.startswith("h2learn-tlm trainer")
        assert all(info.loss is not None for info in reader.meta.iteration_info)
