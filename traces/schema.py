"""Trace schema v1: the layout of a BPTT trace in HDF5, as constants and helpers.

A trace file holds, for one or more training iterations, every layer's input
spikes, output spikes, surrogate mask ``h`` and the non-zero pattern of ``du``
(what BPTT needs per layer, see docs/trace-schema.md), bit-packed along the flattened neuron axis and chunked one
timestep per chunk so that a simulator can stream one layer × one timestep at a
time. docs/trace-schema.md is the prose version of this module.

Layout::

    /                         attrs: ROOT_ATTRS (schema, version, producer, T, B, ...)
    /iterations/<k>           attrs: iteration, loss, accuracy      k = 0, 1, ...
    /iterations/<k>/layers/<name>          attrs: index, kind, in_shape, out_shape
        input_spikes   uint8 (T, B, ceil(in_neurons/8))   layer n >= 1: soft link
        output_spikes  uint8 (T, B, ceil(out_neurons/8))
        h_mask         uint8 (T, B, ceil(out_neurons/8))
        du_nonzero     uint8 (T, B, ceil(out_neurons/8))
        du_values      float16 (T, B, out_neurons)        optional

Both the header reader and the header writer live here so that the writer,
the reader and the validator cannot disagree on names or types.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from traces.errors import TraceError
from traces.network import Network, NetworkError
from traces.record import TENSORS
from traces.workloads import NeuronConstants

SCHEMA_NAME = "h2learn-bptt-trace"
SCHEMA_VERSION = "1.0.0"
SCHEMA_MAJOR = 1
BITORDER = "little"  # bit j of byte i holds neuron 8*i + j
DU_VALUES = "du_values"
PACKED_TENSORS = TENSORS  # input_spikes, output_spikes, h_mask, du_nonzero
CHUNK_MAX_BYTES = 1 << 20  # h5py advice: 10 KiB - 1 MiB per chunk
COMPRESSION = "gzip"
COMPRESSION_LEVEL = 4  # level 4: ~all of gzip-9's ratio on bit-packed spikes, at a third the time

# Root attribute -> Python types accepted when reading it back.
ROOT_ATTRS: dict[str, tuple[type, ...]] = {
    "schema": (str,), "schema_version": (str,), "producer": (str,),
    "producer_version": (str,), "timesteps": (int,), "batch": (int,),
    "vth": (float,), "tau": (float,), "surrogate_width": (float,),
    "reset_detached": (bool,), "dataset": (str,), "workload": (str,),
    "iterations": (int,), "network": (str,),
}


# Upper bounds past which a header value is damage, not an experiment: BPTT traces
# use T <= a few hundred and batches <= a few thousand; iterations are file groups.
HEADER_INT_MAX = {"timesteps": 1 << 16, "batch": 1 << 20, "iterations": 1 << 16}
# LIF constants: threshold and surrogate width positive; tau is a leak factor in [0, 1].
NEURON_RANGES = {"vth": (0.0, 1e6, True), "tau": (0.0, 1.0, False),
                 "surrogate_width": (0.0, 1e6, True)}


@dataclass(frozen=True)
class TraceHeader:
    """What a trace is a trace of: network, BPTT settings and provenance."""

    network: Network
    timesteps: int
    batch: int
    neuron: NeuronConstants
    dataset: str
    workload: str
    producer: str
    producer_version: str


def packed_width(neurons: int) -> int:
    """Bytes per (t, b) row once ``neurons`` bits are packed."""
    return (neurons + 7) // 8


def pack_bits(spikes: np.ndarray, lead_dims: int) -> np.ndarray:
    """Pack bool [*lead, *shape] to uint8 [*lead, packed]; the neuron axes are flattened C-order."""
    lead = spikes.shape[:lead_dims]
    flat = np.ascontiguousarray(spikes, dtype=bool).reshape(*lead, -1)
    return np.packbits(flat, axis=-1, bitorder=BITORDER)


def unpack_bits(packed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of pack_bits: uint8 [*lead, packed] to bool [*lead, *shape]."""
    neurons = math.prod(shape)
    flat = np.unpackbits(packed, axis=-1, count=neurons, bitorder=BITORDER)
    return flat.view(bool).reshape(*packed.shape[:-1], *shape)


def padding_mask(neurons: int) -> int:
    """Bits of the last packed byte that lie beyond the neuron count (must be 0)."""
    used = neurons % 8
    return 0 if used == 0 else (0xFF << used) & 0xFF


def chunk_shape(batch: int, row_bytes: int) -> tuple[int, int, int]:
    """One timestep per chunk, as many samples as fit in CHUNK_MAX_BYTES (at least one)."""
    samples = max(1, min(batch, CHUNK_MAX_BYTES // max(1, row_bytes)))
    return (1, samples, row_bytes)


def iteration_path(position: int) -> str:
    return f"/iterations/{position}"


def layer_path(position: int, layer_name: str) -> str:
    return f"/iterations/{position}/layers/{layer_name}"


def parse_version(text: str) -> tuple[int, int, int]:
    """Parse 'MAJOR.MINOR.PATCH'; ValueError if it is not semver-like."""
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not MAJOR.MINOR.PATCH")
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch


def header_attrs(header: TraceHeader, iterations: int) -> dict[str, Any]:
    """Root attributes for a header (what the writer stores)."""
    n = header.neuron
    return {
        "schema": SCHEMA_NAME, "schema_version": SCHEMA_VERSION,
        "producer": header.producer, "producer_version": header.producer_version,
        "timesteps": int(header.timesteps), "batch": int(header.batch),
        "vth": float(n.vth), "tau": float(n.tau), "surrogate_width": float(n.surrogate_width),
        "reset_detached": bool(n.reset_detached), "dataset": header.dataset,
        "workload": header.workload, "iterations": int(iterations),
        "network": header.network.to_json(),
    }


def _attr_value(file: str, attrs: Mapping[str, Any], name: str) -> Any:
    """One root attribute, converted from numpy scalars and checked against ROOT_ATTRS."""
    if name not in attrs:
        raise TraceError(file, f"/@{name}", "attribute missing")
    value = attrs[name]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, np.generic):
        value = value.item()
    wanted = ROOT_ATTRS[name]
    ok = isinstance(value, wanted) and not (bool not in wanted and isinstance(value, bool))
    if float in wanted and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        names = "/".join(t.__name__ for t in wanted)
        raise TraceError(file, f"/@{name}", f"expected {names}, found {type(value).__name__} {value!r}")
    return value


def check_schema(file: str, attrs: Mapping[str, Any]) -> str:
    """Check schema name and major version; return the version string."""
    name = _attr_value(file, attrs, "schema")
    if name != SCHEMA_NAME:
        raise TraceError(file, "/@schema", f"expected {SCHEMA_NAME!r}, found {name!r} "
                         "(not an h2learn trace)")
    version = _attr_value(file, attrs, "schema_version")
    try:
        major = parse_version(version)[0]
    except ValueError as exc:
        raise TraceError(file, "/@schema_version", str(exc)) from None
    if major != SCHEMA_MAJOR:
        raise TraceError(file, "/@schema_version", f"schema version {version} is not supported; "
                         f"this reader reads major version {SCHEMA_MAJOR} ({SCHEMA_VERSION})")
    return version


def read_header(file: str, attrs: Mapping[str, Any]) -> tuple[TraceHeader, str, int]:
    """Check every root attribute; return (header, schema version, iteration count)."""
    version = check_schema(file, attrs)
    v = {name: _attr_value(file, attrs, name) for name in ROOT_ATTRS}
    for name, most in HEADER_INT_MAX.items():
        if not 1 <= v[name] <= most:
            raise TraceError(file, f"/@{name}", f"expected an integer in 1 .. {most}, found {v[name]}")
    for name, (low, high, low_open) in NEURON_RANGES.items():
        value = v[name]
        if not (math.isfinite(value) and (value > low if low_open else value >= low)
                and value <= high):
            bound = "(" if low_open else "["
            raise TraceError(file, f"/@{name}", f"expected a finite number in {bound}{low}, "
                             f"{high}], found {value!r}")
    try:
        network = Network.from_json(v["network"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, NetworkError) as exc:
        raise TraceError(file, "/@network", f"network description unusable: {exc}") from None
    neuron = NeuronConstants(vth=v["vth"], tau=v["tau"], surrogate_width=v["surrogate_width"],
                             reset_detached=v["reset_detached"])
    header = TraceHeader(network, v["timesteps"], v["batch"], neuron, v["dataset"],
                         v["workload"], v["producer"], v["producer_version"])
    return header, version, v["iterations"]
