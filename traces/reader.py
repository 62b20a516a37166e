"""Reading trace files: header checked on open, tensors streamed by the chunk.

``open_trace(path)`` returns a ``TraceReader`` whose ``meta`` describes the
trace (schema version, provenance, T, batch, neuron constants, network,
per-iteration loss/accuracy). ``read(iteration, layer, tensor, t)`` returns
one timestep ``[B, *shape]`` (or every timestep, ``[T, B, *shape]``) as bools.

Streaming is what keeps a long trace replayable on a small machine: every
dataset is chunked one timestep per chunk, a read touches only the chunks of
the requested timestep, and the reader caches no dataset handles (each open
handle could hold a chunk cache), so memory stays flat however long the trace.

``iteration`` is the position of the iteration group in the file (0, 1, ...);
the training-run iteration number is ``meta.iteration_info[k].iteration``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Callable, Iterator

import h5py
import numpy as np

from traces import schema
from traces.errors import TraceError
from traces.network import LayerSpec, Network
from traces.workloads import NeuronConstants


@dataclass(frozen=True)
class IterationInfo:
    """Attributes of one iteration group."""

    position: int
    iteration: int
    loss: float | None
    accuracy: float | None


@dataclass(frozen=True)
class TraceMeta:
    """Everything a trace says about itself, minus the tensors."""

    schema_version: str
    producer: str
    producer_version: str
    timesteps: int
    batch: int
    neuron: NeuronConstants
    dataset: str
    workload: str
    iterations: int
    network: Network
    iteration_info: tuple[IterationInfo, ...]

    @property
    def header(self) -> schema.TraceHeader:
        return schema.TraceHeader(self.network, self.timesteps, self.batch, self.neuron,
                                  self.dataset, self.workload, self.producer,
                                  self.producer_version)


def open_file(path: str | os.PathLike[str]) -> h5py.File:
    """Open an HDF5 file read-only, turning every failure into a TraceError."""
    p = Path(path)
    if not p.exists():
        raise TraceError(p, "/", "no such file")
    if not p.is_file():
        raise TraceError(p, "/", "not a regular file")
    try:
        if not h5py.is_hdf5(p):
            raise TraceError(p, "/", "not an HDF5 file (no HDF5 signature)")
        return h5py.File(p, "r")
    except OSError as exc:
        raise TraceError(p, "/", f"cannot open as HDF5 (truncated or damaged?): {exc}") from None


def _optional_float(attrs: h5py.AttributeManager, name: str) -> float | None:
    return float(attrs[name]) if name in attrs else None


def read_iteration_info(file: str, h5: h5py.File, count: int) -> tuple[IterationInfo, ...]:
    """Check the iteration groups 0..count-1 exist; return their attributes."""
    infos = []
    for k in range(count):
        where = schema.iteration_path(k)
        group = h5.get(where)
        if not isinstance(group, h5py.Group):
            raise TraceError(file, where, f"iteration group missing (root says {count} iterations)")
        if "iteration" not in group.attrs:
            raise TraceError(file, f"{where}/@iteration", "attribute missing")
        try:
            infos.append(IterationInfo(k, int(group.attrs["iteration"]),
                                       _optional_float(group.attrs, "loss"),
                                       _optional_float(group.attrs, "accuracy")))
        except (TypeError, ValueError) as exc:
            raise TraceError(file, where, f"iteration attributes unreadable: {exc}") from None
    return tuple(infos)


def load_meta(file: str, h5: h5py.File) -> TraceMeta:
    """Check the header and iteration groups of an open file; build its TraceMeta."""
    try:
        header, version, count = schema.read_header(file, h5.attrs)
        infos = read_iteration_info(file, h5, count)
    except (OSError, RuntimeError, KeyError) as exc:
        raise TraceError(file, "/", f"cannot read header: {exc}") from None
    return TraceMeta(version, header.producer, header.producer_version, header.timesteps,
                     header.batch, header.neuron, header.dataset, header.workload, count,
                     header.network, infos)


def expected_shape(meta: TraceMeta, spec: LayerSpec, tensor: str) -> tuple[tuple[int, ...], np.dtype]:
    """On-disk shape and dtype of one tensor of one layer."""
    if tensor == schema.DU_VALUES:
        return (meta.timesteps, meta.batch, spec.out_neurons), np.dtype(np.float16)
    neurons = spec.in_neurons if tensor == "input_spikes" else spec.out_neurons
    return (meta.timesteps, meta.batch, schema.packed_width(neurons)), np.dtype(np.uint8)


class TraceReader:
    """An open trace file; use ``open_trace``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file = str(self.path)
        self._h5 = open_file(self.path)
        try:
            self.meta = load_meta(self._file, self._h5)
        except BaseException:
            self._h5.close()
            raise
        self._names = {layer.name: i for i, layer in enumerate(self.meta.network.layers)}

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> "TraceReader":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def h5file(self) -> h5py.File:
        """The open h5py file (for the validator; replay code uses read())."""
        return self._h5

    @property
    def file_bytes(self) -> int:
        return self.path.stat().st_size

    def layer(self, layer: str | int) -> tuple[int, LayerSpec]:
        """(index, spec) of a layer given by index or name."""
        layers = self.meta.network.layers
        if isinstance(layer, (int, np.integer)):
            if not 0 <= layer < len(layers):
                raise IndexError(f"layer {layer} out of range (network has {len(layers)})")
            return int(layer), layers[layer]
        if layer not in self._names:
            raise KeyError(f"no layer {layer!r}; layers: {', '.join(self._names)}")
        return self._names[layer], layers[self._names[layer]]

    def dataset(self, iteration: int, layer: str | int, tensor: str) -> h5py.Dataset:
        """The dataset of one tensor (links followed), its shape and dtype checked."""
        if not 0 <= iteration < self.meta.iterations:
            raise IndexError(f"iteration {iteration} out of range (trace has {self.meta.iterations})")
        _, spec = self.layer(layer)
        where = f"{schema.layer_path(iteration, spec.name)}/{tensor}"
        try:
            ds = self._h5.get(where)
        except (OSError, RuntimeError, KeyError) as exc:
            raise TraceError(self._file, where, f"cannot open dataset: {exc}") from None
        if not isinstance(ds, h5py.Dataset):
            found = "nothing (or a dangling link)" if ds is None else "a group"
            raise TraceError(self._file, where, f"expected a dataset, found {found}")
        shape, dtype = expected_shape(self.meta, spec, tensor)
        if ds.dtype != dtype or ds.shape != shape:
            raise TraceError(self._file, where, f"expected {dtype} {shape}, "
                             f"found {ds.dtype} {ds.shape}")
        return ds

    def _load(self, ds: h5py.Dataset, t: int | slice | None) -> np.ndarray:
        try:
            return ds[()] if t is None else ds[t]
        except (OSError, RuntimeError, ValueError) as exc:
            raise TraceError(self._file, ds.name, f"cannot read data: {exc}") from None

    def read_packed(self, iteration: int, layer: str | int, tensor: str,
                    t: int | None = None) -> np.ndarray:
        """Bit-packed uint8 [B, packed] at timestep t, or [T, B, packed]."""
        if tensor not in schema.PACKED_TENSORS:
            raise ValueError(f"unknown tensor {tensor!r}; expected one of {schema.PACKED_TENSORS}")
        return self._load(self.dataset(iteration, layer, tensor), t)

    def read_packed_span(self, ds: h5py.Dataset, start: int, stop: int) -> np.ndarray:
        """Bit-packed uint8 [stop - start, B, packed] of a dataset from ``dataset``: timesteps
        start..stop-1 in one HDF5 read (whole chunks: a chunk is one timestep)."""
        return self._load(ds, slice(start, stop))

    def read(self, iteration: int, layer: str | int, tensor: str,
             t: int | None = None) -> np.ndarray:
        """Bool [B, *shape] at timestep t, or [T, B, *shape] for every timestep."""
        _, spec = self.layer(layer)
        shape = spec.in_shape if tensor == "input_spikes" else spec.out_shape
        return schema.unpack_bits(self.read_packed(iteration, layer, tensor, t), shape)

    def stream(self, iteration: int, layer: str | int, tensor: str) -> Iterator[np.ndarray]:
        """Yield bool [B, *shape] for t = 0 .. T-1, one chunk read at a time."""
        for t in range(self.meta.timesteps):
            yield self.read(iteration, layer, tensor, t)

    @property
    def has_du_values(self) -> bool:
        """True when every layer of every iteration stores du_values."""
        return all(f"{schema.layer_path(k, spec.name)}/{schema.DU_VALUES}" in self._h5
                   for k in range(self.meta.iterations) for spec in self.meta.network.layers)

    def read_du_values(self, iteration: int, layer: str | int,
                       t: int | None = None) -> np.ndarray:
        """float16 du [B, *out_shape] at timestep t, or [T, B, *out_shape]."""
        _, spec = self.layer(layer)
        values = self._load(self.dataset(iteration, layer, schema.DU_VALUES), t)
        return values.reshape(*values.shape[:-1], *spec.out_shape)


def open_trace(path: str | os.PathLike[str]) -> TraceReader:
    """Open a trace and check its header; raises TraceError on any problem."""
    return TraceReader(path)


@dataclass(frozen=True)
class LayerStats:
    """Densities of one layer's tensors over the iterations read."""

    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    input_rate: float
    firing_rate: float
    h_density: float
    du_density: float


def count_ones(packed: np.ndarray, neurons: int) -> int:
    """Set bits in packed rows, ignoring padding bits beyond ``neurons``."""
    total = int(np.bitwise_count(packed).sum(dtype=np.int64))
    pad = schema.padding_mask(neurons)
    if pad:
        total -= int(np.bitwise_count(packed[..., -1] & pad).sum(dtype=np.int64))
    return total


def _tensor_ones(reader: TraceReader, k: int, index: int, tensor: str) -> int:
    spec = reader.meta.network.layers[index]
    neurons = spec.in_neurons if tensor == "input_spikes" else spec.out_neurons
    return sum(count_ones(reader.read_packed(k, index, tensor, t), neurons)
               for t in range(reader.meta.timesteps))


def layer_stats(reader: TraceReader, iterations: list[int] | None = None,
                progress: Callable[[int, int], None] | None = None) -> list[LayerStats]:
    """Per-layer densities, read one timestep at a time (memory independent of T)."""
    meta = reader.meta
    its = list(range(meta.iterations)) if iterations is None else iterations
    layers = meta.network.layers
    tensors = ("output_spikes", "h_mask", "du_nonzero")
    ones = np.zeros((len(layers), 4), dtype=np.int64)  # input, output, h, du
    total, done = len(its) * len(layers), 0
    for k in its:
        ones[0, 0] += _tensor_ones(reader, k, 0, "input_spikes")
        for i in range(len(layers)):
            for j, tensor in enumerate(tensors, start=1):
                ones[i, j] += _tensor_ones(reader, k, i, tensor)
            done += 1
            if progress is not None:
                progress(done, total)
    ones[1:, 0] = ones[:-1, 1]  # layer n's input is layer n-1's output
    steps = max(1, len(its)) * meta.timesteps * meta.batch
    return [LayerStats(spec.name, spec.kind, spec.in_shape, spec.out_shape,
                       float(ones[i, 0] / (steps * spec.in_neurons)),
                       *(float(x) for x in ones[i, 1:] / (steps * spec.out_neurons)))
            for i, spec in enumerate(layers)]


def unpacked_bytes(meta: TraceMeta, with_du_values: bool) -> int:
    """Size of the stored tensors as dense bools (one byte per neuron-step), links counted once."""
    layers = meta.network.layers
    neuron_steps = layers[0].in_neurons + 3 * sum(spec.out_neurons for spec in layers)
    total = neuron_steps
    if with_du_values:
        total += 2 * sum(spec.out_neurons for spec in layers)
    return total * meta.timesteps * meta.batch * meta.iterations
