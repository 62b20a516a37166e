"""Writing trace files: atomic, streaming, one layer × one timestep at a time.

``TraceWriter`` owns one output file. It writes to a temporary file in the
target directory and renames it over the target only when the ``with`` block
ends without an exception, so an interrupted run leaves nothing half-written.

Two ways in:

- ``write_iteration(index, layers)`` stores whole in-memory ``LayerRecord``s
  (the trainer's output, small networks);
- ``begin_iteration(index)`` returns an ``IterationWriter`` whose
  ``write(layer, tensor, t, values)`` stores one timestep of one tensor, so a
  generator never holds more than one layer × one timestep (large networks).

For layer n >= 1, ``input_spikes`` is a soft link to layer n-1's
``output_spikes``: the same bits are never stored twice.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import TracebackType
from typing import Mapping

import h5py
import numpy as np

from traces import schema
from traces.atomic import AtomicTarget
from traces.errors import TraceError
from traces.network import LayerSpec
from traces.record import LayerRecord
from traces.workloads import Workload

PRODUCER_VERSION = "0.1.0"


def header_for_workload(workload: Workload, *, producer: str, batch: int | None = None,
                        timesteps: int | None = None,
                        producer_version: str = PRODUCER_VERSION) -> schema.TraceHeader:
    """A trace header for a workload, optionally with another batch size or T."""
    return schema.TraceHeader(
        network=workload.network, timesteps=int(timesteps or workload.timesteps),
        batch=int(batch or workload.batch), neuron=workload.neuron, dataset=workload.dataset,
        workload=workload.name, producer=producer, producer_version=producer_version)


class IterationWriter:
    """Writes the tensors of one iteration, one (layer, tensor, timestep) at a time."""

    def __init__(self, trace: "TraceWriter", position: int, group: h5py.Group) -> None:
        self._trace = trace
        self._header = trace.header
        self._position = position
        self._group = group
        self._written: dict[tuple[str, str], set[int]] = {}
        self._layers = {layer.name: (i, layer) for i, layer in enumerate(trace.header.network.layers)}
        for i, layer in enumerate(trace.header.network.layers):
            self._create_layer(i, layer)

    def _create_layer(self, index: int, layer: LayerSpec) -> None:
        g = self._group.create_group(f"layers/{layer.name}")
        g.attrs.update({"index": index, "kind": layer.kind, "in_shape": list(layer.in_shape),
                        "out_shape": list(layer.out_shape)})
        t, b = self._header.timesteps, self._header.batch
        for tensor in schema.PACKED_TENSORS:
            if tensor == "input_spikes" and index > 0:
                prev = self._header.network.layers[index - 1].name
                g["input_spikes"] = h5py.SoftLink(
                    f"{schema.layer_path(self._position, prev)}/output_spikes")
                continue
            neurons = layer.in_neurons if tensor == "input_spikes" else layer.out_neurons
            width = schema.packed_width(neurons)
            g.create_dataset(tensor, shape=(t, b, width), dtype=np.uint8,
                             chunks=schema.chunk_shape(b, width), **self._trace.filters)

    def set_result(self, *, loss: float | None = None, accuracy: float | None = None) -> None:
        """Record the iteration's loss / accuracy (known only after the backward pass)."""
        if loss is not None:
            self._group.attrs["loss"] = float(loss)
        if accuracy is not None:
            self._group.attrs["accuracy"] = float(accuracy)

    def _layer(self, layer: str | int) -> tuple[int, LayerSpec]:
        if isinstance(layer, int):
            return layer, self._header.network.layers[layer]
        if layer not in self._layers:
            raise KeyError(f"no layer {layer!r} in network {self._header.network.name!r}")
        return self._layers[layer]

    def _check_values(self, spec: LayerSpec, tensor: str, values: np.ndarray) -> None:
        shape = spec.in_shape if tensor == "input_spikes" else spec.out_shape
        want = (self._header.batch, *shape)
        if values.ndim < 1 or values.shape[0] != want[0] or values[0].size != math.prod(shape):
            raise ValueError(f"{spec.name}/{tensor}: expected shape {want}, got {values.shape}")

    def write(self, layer: str | int, tensor: str, t: int, values: np.ndarray) -> None:
        """Store bool values [B, *shape] of one tensor at timestep t."""
        index, spec = self._layer(layer)
        if tensor not in schema.PACKED_TENSORS:
            raise ValueError(f"unknown tensor {tensor!r}; expected one of {schema.PACKED_TENSORS}")
        if tensor == "input_spikes" and index > 0:
            raise ValueError(f"{spec.name}/input_spikes is a link to the previous layer's "
                             "output_spikes; write that instead")
        self._check_values(spec, tensor, values)
        self._group[f"layers/{spec.name}/{tensor}"][t] = schema.pack_bits(values, 1)
        self._written.setdefault((spec.name, tensor), set()).add(int(t))

    def write_du_values(self, layer: str | int, t: int, values: np.ndarray) -> None:
        """Store float16 du values [B, *out_shape] at timestep t (optional tensor)."""
        _, spec = self._layer(layer)
        g = self._group[f"layers/{spec.name}"]
        if schema.DU_VALUES not in g:
            shape = (self._header.timesteps, self._header.batch, spec.out_neurons)
            g.create_dataset(schema.DU_VALUES, shape=shape, dtype=np.float16,
                             chunks=schema.chunk_shape(shape[1], 2 * shape[2])[:2] + (shape[2],),
                             **self._trace.filters)
        flat = np.asarray(values, dtype=np.float16).reshape(self._header.batch, -1)
        g[schema.DU_VALUES][t] = flat
        self._written.setdefault((spec.name, schema.DU_VALUES), set()).add(int(t))

    def missing(self) -> list[str]:
        """Tensors not written at every timestep (``layer/tensor``)."""
        gaps = []
        full = set(range(self._header.timesteps))
        for index, spec in enumerate(self._header.network.layers):
            tensors = [x for x in schema.PACKED_TENSORS if not (x == "input_spikes" and index > 0)]
            if (spec.name, schema.DU_VALUES) in self._written:
                tensors.append(schema.DU_VALUES)
            gaps += [f"{spec.name}/{x}" for x in tensors
                     if self._written.get((spec.name, x), set()) != full]
        return gaps

    def read(self, layer: str | int, tensor: str, t: int) -> np.ndarray:
        """Read back one timestep already written (lets generators stream backwards in time)."""
        index, spec = self._layer(layer)
        if tensor == "input_spikes" and index > 0:
            spec, tensor = self._header.network.layers[index - 1], "output_spikes"
            shape = spec.out_shape
        else:
            shape = spec.in_shape if tensor == "input_spikes" else spec.out_shape
        return schema.unpack_bits(self._group[f"layers/{spec.name}/{tensor}"][t], shape)


class TraceWriter:
    """Context manager that writes a trace file atomically (temp file + rename)."""

    def __init__(self, path: str | os.PathLike[str], header: schema.TraceHeader, *,
                 compression: str = schema.COMPRESSION) -> None:
        self.path = Path(path)
        self.header = header
        # fletcher32: a flipped bit in stored data is a read error, not different spikes
        if compression == "gzip":
            self.filters = {"compression": "gzip", "compression_opts": schema.COMPRESSION_LEVEL,
                            "shuffle": True, "fletcher32": True}
        else:
            self.filters = {"compression": compression, "shuffle": True, "fletcher32": True}
        self._file: h5py.File | None = None
        self._out: AtomicTarget | None = None
        self._count = 0
        self._open_iteration: IterationWriter | None = None

    def __enter__(self) -> "TraceWriter":
        self._out = AtomicTarget(self.path)
        try:
            self._file = h5py.File(self._out.temp, "w")
        except BaseException:
            self._out.abandon()
            raise
        self._file.attrs.update(schema.header_attrs(self.header, iterations=1))
        self._file.create_group("iterations")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._file is not None and self._out is not None
        try:
            if exc_type is None:
                self._finish()
        except BaseException:
            self._abandon()
            raise
        if exc_type is not None:
            self._abandon()
            return
        self._file.close()
        self._out.commit()

    def _finish(self) -> None:
        self._end_open_iteration()
        if self._count == 0:
            raise TraceError(self.path, "/iterations", "no iteration was written")
        self._file.attrs["iterations"] = self._count

    def _abandon(self) -> None:
        self._file.close()
        self._out.abandon()

    def _end_open_iteration(self) -> None:
        if self._open_iteration is None:
            return
        gaps = self._open_iteration.missing()
        self._open_iteration = None
        if gaps:
            raise TraceError(self.path, f"/iterations/{self._count - 1}",
                             f"not every timestep written for {', '.join(gaps[:4])}")

    def begin_iteration(self, index: int, *, loss: float | None = None,
                        accuracy: float | None = None) -> IterationWriter:
        """Start the next iteration group; ``index`` is the training-run iteration number."""
        if self._file is None:
            raise RuntimeError("TraceWriter must be used as a context manager")
        self._end_open_iteration()
        position = self._count
        group = self._file.create_group(schema.iteration_path(position))
        group.attrs["iteration"] = int(index)
        self._count += 1
        self._open_iteration = IterationWriter(self, position, group)
        self._open_iteration.set_result(loss=loss, accuracy=accuracy)
        return self._open_iteration

    def write_iteration(self, index: int, layers: Mapping[str, LayerRecord], *,
                        loss: float | None = None, accuracy: float | None = None) -> None:
        """Store one iteration from whole in-memory records (one per network layer)."""
        names = [layer.name for layer in self.header.network.layers]
        if sorted(layers) != sorted(names):
            raise ValueError(f"expected records for layers {names}, got {list(layers)}")
        check_chaining(self.header, layers)
        it = self.begin_iteration(index, loss=loss, accuracy=accuracy)
        for i, name in enumerate(names):
            rec = layers[name]
            tensors = [x for x in schema.PACKED_TENSORS if not (x == "input_spikes" and i > 0)]
            for tensor in tensors:
                data = np.asarray(getattr(rec, tensor), dtype=bool)
                for t in range(self.header.timesteps):
                    it.write(i, tensor, t, data[t])
            if rec.du_values is not None:
                for t in range(self.header.timesteps):
                    it.write_du_values(i, t, rec.du_values[t])
        self._end_open_iteration()


def check_chaining(header: schema.TraceHeader, layers: Mapping[str, LayerRecord]) -> None:
    """Layer n's recorded input must equal layer n-1's output (it is stored as a link)."""
    specs = header.network.layers
    t, b = header.timesteps, header.batch
    for prev, spec in zip(specs, specs[1:]):
        a = np.asarray(layers[prev.name].output_spikes, dtype=bool).reshape(t, b, -1)
        x = np.asarray(layers[spec.name].input_spikes, dtype=bool).reshape(t, b, -1)
        if not np.array_equal(a, x):
            raise ValueError(f"{spec.name}.input_spikes differs from {prev.name}.output_spikes")
