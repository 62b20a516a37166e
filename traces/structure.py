"""Structural check of a trace on open: every group, attribute, dataset and chunk.

``check_structure(reader)`` runs, from metadata only, every structural check of
``trace check``: the iteration groups match the header (none missing, none
extra); each layer group carries the attributes the network implies; each
tensor is a dataset of the right dtype and shape (T, B, packed width), in
chunks of bounded size (the writer's: one timestep each), with **every chunk
allocated** (an
unallocated chunk would read as fill-value zeros and change results silently);
and the data the header declares is plausible against the bytes stored (deflate
expands at most ~1032:1), so a header that lies about T or B is refused before
a single array is allocated. It reads no tensor data except a stored (unlinked)
``input_spikes`` of layer n >= 1, compared with layer n-1's output.

The data checks (zero padding bits, ``du_nonzero == (du_values != 0)``,
fletcher32 checksums) happen as the data is read, in ``traces.reader``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import h5py
import numpy as np

from traces import schema
from traces.errors import TraceError
from traces.network import LayerSpec

if TYPE_CHECKING:
    from traces.reader import TraceReader

# deflate's worst-case expansion is 1032:1 (zlib technical details); shuffle does not add
MAX_INFLATE_RATIO = 1032
# the writer's chunks hold at most CHUNK_MAX_BYTES (or one sample's row); others get slack
CHUNK_LIMIT_BYTES = 4 * schema.CHUNK_MAX_BYTES
# uncompressed datasets, and the fixed cost of tiny ones, need some slack over the ratio
INFLATE_SLACK_BYTES = 1 << 16


def _attr_plain(value: object) -> object:
    value = value.tolist() if isinstance(value, np.ndarray) else value
    return value.item() if isinstance(value, np.generic) else value


def check_iteration_count(file: str, h5: h5py.File, count: int) -> None:
    group = h5.get("iterations")
    found = sorted(group) if isinstance(group, h5py.Group) else []
    if found != sorted(str(k) for k in range(count)):
        raise TraceError(file, "/iterations", f"expected iteration groups 0..{count - 1} "
                         f"(root @iterations), found {len(found)}: {', '.join(found[:6])}")


def check_layer_group(file: str, h5: h5py.File, k: int, index: int, spec: LayerSpec) -> h5py.Group:
    where = schema.layer_path(k, spec.name)
    group = h5.get(where)
    if not isinstance(group, h5py.Group):
        raise TraceError(file, where, f"layer group missing (network layer {index})")
    wanted = {"index": index, "kind": spec.kind, "in_shape": list(spec.in_shape),
              "out_shape": list(spec.out_shape)}
    for name, value in wanted.items():
        if name not in group.attrs:
            raise TraceError(file, f"{where}/@{name}", f"attribute missing, expected {value!r}")
        found = _attr_plain(group.attrs[name])
        if isinstance(found, bytes):
            found = found.decode("utf-8", "replace")
        if found != value or type(found) is not type(value):
            raise TraceError(file, f"{where}/@{name}", f"expected {value!r} (from the "
                             f"network description), found {found!r}")
    return group


def check_chunks(file: str, ds: h5py.Dataset) -> None:
    """Bounded chunks, every chunk (or the contiguous block) allocated, a plausible size."""
    stored = ds.id.get_storage_size()
    if ds.chunks is None:
        if stored != ds.nbytes:
            raise TraceError(file, ds.name, f"contiguous dataset of {ds.nbytes} bytes stores "
                             f"{stored} (unallocated data would read as zeros)")
        return
    chunk_bytes = math.prod(ds.chunks) * ds.dtype.itemsize
    row_bytes = ds.shape[-1] * ds.dtype.itemsize
    if chunk_bytes > max(CHUNK_LIMIT_BYTES, row_bytes):
        raise TraceError(file, ds.name, f"chunk {ds.chunks} holds {chunk_bytes} bytes, more "
                         f"than {CHUNK_LIMIT_BYTES} (or one sample's row)")
    expected = math.prod(math.ceil(n / c) for n, c in zip(ds.shape, ds.chunks))
    found = ds.id.get_num_chunks()
    if found != expected:
        raise TraceError(file, ds.name, f"expected {expected} stored chunks, found {found} "
                         "(missing chunks would read as zeros)")
    if ds.nbytes > stored * MAX_INFLATE_RATIO + INFLATE_SLACK_BYTES:
        raise TraceError(file, ds.name, f"declares {ds.nbytes} bytes but stores only {stored}: "
                         "more than compression can explain")


def tensor_shape(timesteps: int, batch: int, spec: LayerSpec,
                 tensor: str) -> tuple[tuple[int, ...], np.dtype]:
    """On-disk shape and dtype of one tensor of one layer."""
    if tensor == schema.DU_VALUES:
        return (timesteps, batch, spec.out_neurons), np.dtype(np.float16)
    neurons = spec.in_neurons if tensor == "input_spikes" else spec.out_neurons
    return (timesteps, batch, schema.packed_width(neurons)), np.dtype(np.uint8)


def check_dataset(file: str, h5: h5py.File, where: str, shape: tuple[int, ...],
                  dtype: np.dtype) -> h5py.Dataset:
    ds = h5.get(where)
    if not isinstance(ds, h5py.Dataset):
        found = "nothing (or a dangling link)" if ds is None else "a group"
        raise TraceError(file, where, f"expected a dataset, found {found}")
    if ds.dtype != dtype or ds.shape != shape:
        raise TraceError(file, where, f"expected {dtype} {shape}, found {ds.dtype} {ds.shape}")
    check_chunks(file, ds)
    return ds


def _check_stored_input(reader: "TraceReader", group: h5py.Group, k: int, index: int) -> None:
    """A stored (not linked) input of layer n >= 1 must equal layer n-1's output."""
    link = group.get("input_spikes", getlink=True)
    if isinstance(link, h5py.SoftLink) and link.path.endswith("/output_spikes"):
        return
    for t in range(reader.meta.timesteps):
        mine = reader.read_packed(k, index, "input_spikes", t)
        prev = reader.read_packed(k, index - 1, "output_spikes", t)
        if not np.array_equal(mine, prev):
            raise TraceError(reader.path, f"{group.name}/input_spikes", "expected the previous "
                             f"layer's output_spikes, found different spikes at t={t}")


def check_structure(reader: "TraceReader") -> None:
    """Every structural check of ``trace check`` on an open ``TraceReader`` (metadata only)."""
    file, h5, meta = str(reader.path), reader.h5file, reader.meta
    check_iteration_count(file, h5, meta.iterations)
    names = {spec.name for spec in meta.network.layers}
    for k in range(meta.iterations):
        layers = h5.get(f"{schema.iteration_path(k)}/layers")
        extra = sorted(set(layers) - names) if isinstance(layers, h5py.Group) else []
        if extra:
            raise TraceError(file, f"{schema.iteration_path(k)}/layers", f"layer groups "
                             f"{', '.join(extra[:4])} are not in the network description")
        for index, spec in enumerate(meta.network.layers):
            group = check_layer_group(file, h5, k, index, spec)
            tensors = list(schema.PACKED_TENSORS)
            if schema.DU_VALUES in group:
                tensors.append(schema.DU_VALUES)
            for tensor in tensors:
                shape, dtype = tensor_shape(meta.timesteps, meta.batch, spec, tensor)
                check_dataset(file, h5, f"{group.name}/{tensor}", shape, dtype)
            if index > 0:
                _check_stored_input(reader, group, k, index)
