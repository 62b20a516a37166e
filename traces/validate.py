"""Validating a trace file against schema v1, down to the last padding bit.

``validate_trace(path)`` returns a ``TraceSummary`` or raises ``TraceError``
with one line naming the file, the dataset or attribute, what was expected and
what was found. Beyond what ``open_trace`` checks on open (schema name and
major version, root attributes and their types, a consistent network, the
iteration groups), it checks every layer group and dataset: presence, dtype,
shape (T, B, packed width), zero padding bits, a real ``input_spikes`` of layer
n >= 1 equal to layer n-1's output, and ``du_nonzero == (du_values != 0)`` where
values are stored. Data is checked one timestep at a time, so validation needs
no more memory than replay does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import h5py
import numpy as np

from traces import schema
from traces.errors import TraceError
from traces.network import LayerSpec
from traces.reader import TraceReader, open_trace


@dataclass(frozen=True)
class TraceSummary:
    """What a valid trace holds, for the one-line 'ok' report."""

    path: str
    schema_version: str
    workload: str
    producer: str
    iterations: int
    layers: tuple[str, ...]
    timesteps: int
    batch: int
    has_du_values: bool
    file_bytes: int


def _check_iteration_count(reader: TraceReader, h5: h5py.File) -> None:
    found = len(h5["iterations"]) if isinstance(h5.get("iterations"), h5py.Group) else 0
    if found != reader.meta.iterations:
        raise TraceError(reader.path, "/iterations", f"expected {reader.meta.iterations} "
                         f"iteration groups (root @iterations), found {found}")


def _check_layer_group(reader: TraceReader, h5: h5py.File, k: int, index: int,
                       spec: LayerSpec) -> h5py.Group:
    where = schema.layer_path(k, spec.name)
    group = h5.get(where)
    if not isinstance(group, h5py.Group):
        raise TraceError(reader.path, where, f"layer group missing (network layer {index})")
    wanted = {"index": index, "kind": spec.kind, "in_shape": list(spec.in_shape),
              "out_shape": list(spec.out_shape)}
    for name, value in wanted.items():
        if name not in group.attrs:
            raise TraceError(reader.path, f"{where}/@{name}", f"attribute missing, expected {value!r}")
        found = group.attrs[name]
        found = found.tolist() if isinstance(found, np.ndarray) else found
        found = found.item() if isinstance(found, np.generic) else found
        if found != value:
            raise TraceError(reader.path, f"{where}/@{name}", f"expected {value!r} (from the "
                             f"network description), found {found!r}")
    return group


def _check_padding(reader: TraceReader, packed: np.ndarray, neurons: int, where: str, t: int) -> None:
    pad = schema.padding_mask(neurons)
    if pad and np.any(packed[..., -1] & pad):
        raise TraceError(reader.path, where, f"padding bits beyond neuron {neurons} must be 0, "
                         f"found set bits at t={t}")


def _check_tensor(reader: TraceReader, k: int, index: int, tensor: str) -> None:
    """Dtype/shape (via the reader) and padding of one packed tensor, timestep by timestep."""
    spec = reader.meta.network.layers[index]
    neurons = spec.in_neurons if tensor == "input_spikes" else spec.out_neurons
    ds = reader.dataset(k, index, tensor)
    for t in range(reader.meta.timesteps):
        _check_padding(reader, reader.read_packed(k, index, tensor, t), neurons, ds.name, t)


def _check_linked_input(reader: TraceReader, group: h5py.Group, k: int, index: int) -> None:
    """A stored (not linked) input of layer n >= 1 must equal layer n-1's output."""
    link = group.get("input_spikes", getlink=True)
    if isinstance(link, h5py.SoftLink) and link.path.endswith("/output_spikes"):
        reader.dataset(k, index, "input_spikes")  # the link must resolve to a right-shaped dataset
        return
    where = f"{group.name}/input_spikes"
    reader.dataset(k, index, "input_spikes")
    for t in range(reader.meta.timesteps):
        mine = reader.read_packed(k, index, "input_spikes", t)
        prev = reader.read_packed(k, index - 1, "output_spikes", t)
        if not np.array_equal(mine, prev):
            raise TraceError(reader.path, where, f"expected the previous layer's output_spikes, "
                             f"found different spikes at t={t}")


def _check_du_values(reader: TraceReader, k: int, index: int) -> None:
    ds = reader.dataset(k, index, schema.DU_VALUES)
    for t in range(reader.meta.timesteps):
        values = reader.read_du_values(k, index, t)
        nonzero = reader.read(k, index, "du_nonzero", t)
        if not np.array_equal(values != 0, nonzero):
            raise TraceError(reader.path, ds.name, f"expected du_nonzero == (du_values != 0), "
                             f"found {int(np.sum((values != 0) != nonzero))} mismatches at t={t}")


def _check_iteration(reader: TraceReader, h5: h5py.File, k: int) -> None:
    for index, spec in enumerate(reader.meta.network.layers):
        group = _check_layer_group(reader, h5, k, index, spec)
        if index == 0:
            _check_tensor(reader, k, 0, "input_spikes")
        else:
            _check_linked_input(reader, group, k, index)
        for tensor in ("output_spikes", "h_mask", "du_nonzero"):
            _check_tensor(reader, k, index, tensor)
        if schema.DU_VALUES in group:
            _check_du_values(reader, k, index)


def validate_trace(path: str | os.PathLike[str],
                   progress: Callable[[int, int], None] | None = None) -> TraceSummary:
    """Check a whole trace file; return its summary or raise TraceError (one line)."""
    with open_trace(path) as reader:
        h5 = reader.h5file
        try:
            _check_iteration_count(reader, h5)
            for k in range(reader.meta.iterations):
                _check_iteration(reader, h5, k)
                if progress is not None:
                    progress(k + 1, reader.meta.iterations)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise TraceError(reader.path, "/iterations", f"cannot read: {exc}") from None
        meta = reader.meta
        return TraceSummary(str(reader.path), meta.schema_version, meta.workload, meta.producer,
                            meta.iterations, tuple(s.name for s in meta.network.layers),
                            meta.timesteps, meta.batch, reader.has_du_values, reader.file_bytes)
