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

import math
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
from traces.probe import probe_metadata
from traces.structure import check_structure, tensor_shape
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


def _attr_number(file: str, where: str, attrs: h5py.AttributeManager, name: str,
                 whole: bool) -> float | int | None:
    """A scalar attribute: a non-negative integer (``whole``) or a finite float; None if absent."""
    if name not in attrs:
        return None
    value = attrs[name]
    value = value.item() if isinstance(value, np.generic) else value
    if whole:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        wanted = "a non-negative integer" if whole else "a finite number"
        raise TraceError(file, f"{where}/@{name}", f"expected {wanted}, found {value!r}")
    return value if whole else float(value)


def read_iteration_info(file: str, h5: h5py.File, count: int) -> tuple[IterationInfo, ...]:
    """Check the iteration groups 0..count-1 exist; return their attributes."""
    infos = []
    for k in range(count):
        where = schema.iteration_path(k)
        group = h5.get(where)
        if not isinstance(group, h5py.Group):
            raise TraceError(file, where, f"iteration group missing (root says {count} iterations)")
        iteration = _attr_number(file, where, group.attrs, "iteration", whole=True)
        if iteration is None:
            raise TraceError(file, f"{where}/@iteration", "attribute missing")
        infos.append(IterationInfo(k, int(iteration),
                                   _attr_number(file, where, group.attrs, "loss", whole=False),
                                   _attr_number(file, where, group.attrs, "accuracy", whole=False)))
    return tuple(infos)


def load_meta(file: str, h5: h5py.File) -> TraceMeta:
    """Check the header and iteration groups of an open file; build its TraceMeta."""
    try:
        header, version, count = schema.read_header(file, h5.attrs)
        infos = read_iteration_info(file, h5, count)
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise TraceError(file, "/", f"cannot read header: {exc}") from None
    return TraceMeta(version, header.producer, header.producer_version, header.timesteps,
                     header.batch, header.neuron, header.dataset, header.workload, count,
                     header.network, infos)


def expected_shape(meta: TraceMeta, spec: LayerSpec, tensor: str) -> tuple[tuple[int, ...], np.dtype]:
    """On-disk shape and dtype of one tensor of one layer."""
    return tensor_shape(meta.timesteps, meta.batch, spec, tensor)


class TraceReader:
    """An open trace file; use ``open_trace``."""

    def __init__(self, path: str | os.PathLike[str], probe: bool = True) -> None:
        self.path = Path(path)
        self._file = str(self.path)
        if probe:  # damaged metadata can crash or hang libhdf5 itself: open in a child first
            probe_metadata(self.path, lambda: TraceReader(self.path, probe=False).close())
        self._h5 = open_file(self.path)
        try:
            self.meta = load_meta(self._file, self._h5)
            self._names = {layer.name: i for i, layer in enumerate(self.meta.network.layers)}
            self._du_stored: dict[tuple[int, int], bool] = {}
            self._checked: set[tuple[int, int, str, int]] = set()  # (it, layer, tensor, t) read
            try:
                check_structure(self)
            except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
                raise TraceError(self._file, "/iterations", f"cannot read: {exc}") from None
        except BaseException:
            self._h5.close()
            raise

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
        """Bit-packed uint8 [B, packed] at timestep t, or [T, B, packed].

        Every read checks its data: padding bits zero, and where du_values are
        stored, ``du_nonzero == (du_values != 0)``; HDF5 checks fletcher32 sums.
        """
        if tensor not in schema.PACKED_TENSORS:
            raise ValueError(f"unknown tensor {tensor!r}; expected one of {schema.PACKED_TENSORS}")
        index, spec = self.layer(layer)
        ds = self.dataset(iteration, index, tensor)
        packed = self._load(ds, t)
        neurons = spec.in_neurons if tensor == "input_spikes" else spec.out_neurons
        pad = schema.padding_mask(neurons)
        if pad and np.any(packed[..., -1] & pad):
            raise TraceError(self._file, ds.name, f"padding bits beyond neuron {neurons} must be "
                             f"0, found set bits at t={'all' if t is None else t}")
        if tensor == "du_nonzero" and self._stores_du(iteration, index):
            self._check_du(iteration, index, packed, t)
        steps = range(self.meta.timesteps) if t is None else (int(t),)
        self._checked.update((iteration, index, tensor, step) for step in steps)
        return packed

    def verify_unread(self) -> None:
        """Read (and so check) every stored tensor timestep not read yet.

        A simulation need not read every tensor (the last layer's output, say);
        calling this after it makes a run accept exactly the files ``trace check``
        accepts, at the cost of reading only what the run skipped.
        """
        for k in range(self.meta.iterations):
            for index in range(len(self.meta.network.layers)):
                tensors = schema.PACKED_TENSORS if index == 0 else schema.PACKED_TENSORS[1:]
                for tensor in tensors:
                    for t in range(self.meta.timesteps):
                        if (k, index, tensor, t) not in self._checked:
                            self.read_packed(k, index, tensor, t)

    def _exists(self, where: str) -> bool:
        """``where in file``; damaged object headers raise inside HDF5 even for this."""
        try:
            return where in self._h5
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise TraceError(self._file, where, f"cannot open: {exc}") from None

    def _stores_du(self, iteration: int, index: int) -> bool:
        key = (iteration, index)
        if key not in self._du_stored:
            where = schema.layer_path(iteration, self.meta.network.layers[index].name)
            self._du_stored[key] = self._exists(f"{where}/{schema.DU_VALUES}")
        return self._du_stored[key]

    def _check_du(self, iteration: int, index: int, packed: np.ndarray, t: int | None) -> None:
        ds = self.dataset(iteration, index, schema.DU_VALUES)
        values = self._load(ds, t)
        neurons = self.meta.network.layers[index].out_neurons
        nonzero = np.unpackbits(packed, axis=-1, count=neurons, bitorder=schema.BITORDER)
        mismatches = int(np.count_nonzero((values != 0) != nonzero.view(bool)))
        if mismatches:
            raise TraceError(self._file, ds.name, f"expected du_nonzero == (du_values != 0), "
                             f"found {mismatches} mismatches at t={'all' if t is None else t}")

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
        return all(self._exists(f"{schema.layer_path(k, spec.name)}/{schema.DU_VALUES}")
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
