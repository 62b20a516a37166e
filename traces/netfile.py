"""Network files: a small TOML description of a network to generate traces for.

The reference workloads are named in traces/workloads.py; anything else is
described in a file like this (every key but the first four is optional)::

    topology = "32C3-AP2-FC10"        # the compact form of traces/network.py
    input_shape = [1, 28, 28]         # (C, H, W), or [N] for an MLP
    timesteps = 8
    batch = 16
    name = "my-net"                   # default: the file name
    dataset = "synthetic"
    input_kind = "rate"               # "rate" (Bernoulli pixels) | "events" (DVS-like)

    [neuron]                          # LIF constants (traces.workloads.NeuronConstants)
    vth = 0.5
    tau = 0.2
    surrogate_width = 1.0
    reset_detached = true

    [synthetic]                       # generator settings (traces.synthetic.SyntheticParams)
    input_rate = 0.2
    firing_rate = 0.15                # defaults for every layer ...
    h_density = 0.25
    du_density = 0.4
    channel_cv = 0.5
    temporal_corr = 0.3

    [synthetic.layers.fc1]            # ... overridden per layer by name
    firing_rate = 0.05

Every problem is raised as NetworkError with one line naming the file and key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Mapping

from traces.network import NetworkError, parse_network
from traces.synthetic import LayerRates, SyntheticParams
from traces.workloads import NeuronConstants, Workload


_PARAM_KEYS = ("input_rate", "channel_cv", "temporal_corr", "input_coupling", "h_given_spike",
               "du_values")
_RATE_KEYS = tuple(f.name for f in fields(LayerRates))


def _table(file: Path, raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise NetworkError(f"{file}: {key}: expected a table, found {type(value).__name__}")
    return value


def _known(file: Path, table: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise NetworkError(f"{file}: {where}{unknown[0]}: unknown key; expected one of "
                           f"{', '.join(keys)}")


def _rates(file: Path, table: Mapping[str, Any], base: LayerRates, where: str) -> LayerRates:
    _known(file, table, _RATE_KEYS, where)
    try:
        return replace(base, **{k: float(v) for k, v in table.items()})
    except (TypeError, ValueError) as exc:
        raise NetworkError(f"{file}: {where.rstrip('.')}: {exc}") from None


def _synthetic_params(file: Path, raw: Mapping[str, Any]) -> SyntheticParams:
    table = dict(_table(file, raw, "synthetic"))
    layers = table.pop("layers", {})
    _known(file, table, _PARAM_KEYS + _RATE_KEYS, "synthetic.")
    rates = _rates(file, {k: v for k, v in table.items() if k in _RATE_KEYS}, LayerRates(),
                   "synthetic.")
    per_layer = {name: _rates(file, t, rates, f"synthetic.layers.{name}.")
                 for name, t in layers.items()}
    try:
        return SyntheticParams(rates=rates, layer_rates=per_layer,
                               **{k: v for k, v in table.items() if k in _PARAM_KEYS})
    except (TypeError, ValueError) as exc:
        raise NetworkError(f"{file}: synthetic: {exc}") from None


_TOP_KEYS = ("name", "topology", "input_shape", "timesteps", "batch", "dataset", "input_kind",
             "neuron", "synthetic")


def _workload(file: Path, raw: Mapping[str, Any]) -> Workload:
    _known(file, raw, _TOP_KEYS, "")
    for key in ("topology", "input_shape", "timesteps", "batch"):
        if key not in raw:
            raise NetworkError(f"{file}: {key}: missing (required)")
    neuron_table = _table(file, raw, "neuron")
    _known(file, neuron_table, tuple(f.name for f in fields(NeuronConstants)), "neuron.")
    try:
        neuron = NeuronConstants(**neuron_table)
        name = str(raw.get("name", file.stem))
        shape = tuple(int(v) for v in raw["input_shape"])
        parse_network(str(raw["topology"]), shape, name)  # fail here, naming the file
        return Workload(name, str(raw["topology"]), shape, int(raw["timesteps"]),
                        int(raw["batch"]), neuron, str(raw.get("dataset", "synthetic")),
                        str(raw.get("input_kind", "rate")))
    except NetworkError as exc:
        raise NetworkError(f"{file}: topology: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise NetworkError(f"{file}: {exc}") from None


def load_network_file(path: str | os.PathLike[str]) -> tuple[Workload, SyntheticParams]:
    """Read a TOML network description (see docs/trace-schema.md) into a workload + rates."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NetworkError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise NetworkError(f"{file}: not valid TOML: {exc}") from None
    workload = _workload(file, raw)
    if workload.timesteps < 1 or workload.batch < 1:
        raise NetworkError(f"{file}: timesteps/batch: expected positive integers")
    if workload.input_kind not in ("rate", "events"):
        raise NetworkError(f"{file}: input_kind: expected 'rate' or 'events', "
                           f"found {workload.input_kind!r}")
    params = _synthetic_params(file, raw)
    names = {layer.name for layer in workload.network.layers}
    for name in params.layer_rates:
        if name not in names:
            raise NetworkError(f"{file}: synthetic.layers.{name}: no such layer; "
                               f"layers: {', '.join(sorted(names))}")
    return workload, params
