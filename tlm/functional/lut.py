"""LUT functional model: what the Forward and Weight Update Engines compute.

Both engines multiply by binary spikes, so a product reduces to "add this
value or not". H2Learn makes that accumulation implicit: for a group of k
values it precomputes a table of all 2^k subset sums, and a k-bit spike
pattern addresses the one entry that equals the group's contribution.

Forward Engine (``lut_forward``): x = W · o. An output neuron's fan-in (order
in ``geometry``: fc flattened input; conv (kh, kw, c_in) with c_in innermost;
avgpool (kh, kw)) is cut into groups of k consecutive entries — the last group
is shorter when k does not divide the fan-in, its missing bits being zero. Per
group and output channel a table holds the subset sums of the group's k
weights; the k spike bits of an input point address it; the lookups are summed.
One table serves every timestep, sample and (conv) output position. Average
pooling has one fixed weight 1/K², so a single tiny table serves everything.

Weight Update Engine (``lut_weight_grad``): dW[c, i] = Σ_p du[p][c] · o[p][i]
over points p = (t, b, output position). The k points of a group are k
consecutive timesteps of one sample at one output position, so the address of
input i is its k-step spike history there (bit j = timestep t0 + j); the
last group is shorter when k does not divide T. Per group and output channel c
a table holds the subset sums of du[·][c] over the group's points. Groups
whose du is all zero build no table and zero addresses do no lookup; neither
skip changes the result, which the tests check.

Tables are built the way an adder would fill them: entry 0 is zero, and each
new bit j doubles the table (entries with bit j set = the lower half + value j),
so every entry costs at most one add. Results equal the dense computation up
to float rounding (exactly, for integer-valued inputs).
"""

from __future__ import annotations

import numpy as np

from tlm.functional.geometry import (fan_in_columns, fan_in_matrix, from_fan_in_matrix,
                                     positions_first, positions_last)
from traces.network import LayerSpec


def subset_sum_tables(values: np.ndarray) -> np.ndarray:
    """Subset-sum tables of the last axis: [..., k] -> [..., 2^k].

    Entry a is Σ_j values[..., j] for the set bits j of a.
    """
    k = values.shape[-1]
    table = np.zeros(values.shape[:-1] + (1 << k,), dtype=values.dtype)
    for j in range(k):  # doubling: bit j set = lower half + value j (one add each)
        half = 1 << j
        table[..., half:2 * half] = table[..., :half] + values[..., j:j + 1]
    return table


def split_groups(values: np.ndarray, k: int) -> np.ndarray:
    """Cut the last axis into groups of k, zero-padding the last group: [..., F] -> [..., G, k]."""
    groups = -(-values.shape[-1] // k)
    pad = groups * k - values.shape[-1]
    if pad:
        values = np.concatenate([values, np.zeros(values.shape[:-1] + (pad,), values.dtype)], -1)
    return values.reshape(values.shape[:-1] + (groups, k))


def pattern_addresses(bits: np.ndarray, k: int) -> np.ndarray:
    """k-bit addresses of consecutive groups of a bool axis: [..., F] -> int [..., G]."""
    weights = (1 << np.arange(k)).astype(np.int64)
    return split_groups(bits.astype(np.int64), k) @ weights


def _check_k(k: int) -> None:
    if not 1 <= k <= 16:
        raise ValueError(f"LUT width k={k}, expected 1..16")


def _lookup_sum(tables: np.ndarray, addresses: np.ndarray) -> np.ndarray:
    """Σ_g tables[c, g, addresses[n, g]] -> [N, C], one group at a time like the PE."""
    out = np.zeros((addresses.shape[0], tables.shape[0]), dtype=tables.dtype)
    for g in range(addresses.shape[1]):
        out += tables[:, g, addresses[:, g]].T
    return out


def lut_forward(weights: np.ndarray | None, spikes: np.ndarray, layer: LayerSpec,
                k: int) -> np.ndarray:
    """x = W · o computed with k-input LUTs.

    ``weights``: fc (N_out, N_in), conv (C_out, C_in, K, K); ignored for avgpool
    (fixed 1/K², may be None). ``spikes``: bool [..., *layer.in_shape] with any
    leading axes (e.g. T, B). Returns float [..., *layer.out_shape].
    """
    _check_k(k)
    if layer.kind == "avgpool":
        return _lut_avgpool(spikes, layer, k)
    matrix = fan_in_matrix(layer, np.asarray(weights))
    tables = subset_sum_tables(split_groups(matrix, k))  # [C_out, G, 2^k]
    cols = fan_in_columns(layer, spikes)                  # [..., P, F]
    lead = cols.shape[:-1]
    addresses = pattern_addresses(cols.reshape(-1, cols.shape[-1]), k)
    points = _lookup_sum(tables, addresses).reshape(lead + (layer.out_channels,))
    return positions_first(layer, points)


def _lut_avgpool(spikes: np.ndarray, layer: LayerSpec, k: int) -> np.ndarray:
    """Average pooling: one table of subset sums of min(k, K²) equal weights 1/K²."""
    window = layer.kernel * layer.kernel
    width = min(k, window)
    table = subset_sum_tables(np.full(width, 1.0 / window))
    cols = fan_in_columns(layer, spikes)                  # [..., C, P, K*K]
    pooled = table[pattern_addresses(cols, width)].sum(-1)
    return pooled.reshape(cols.shape[:-2] + tuple(layer.out_shape[1:]))


def _time_groups(x: np.ndarray, k: int) -> np.ndarray:
    """[T, B, P, X] -> [T', k, B, P, X] with T zero-padded to T' * k."""
    pad = -x.shape[0] % k
    if pad:
        x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    return x.reshape((x.shape[0] // k, k) + x.shape[1:])


def lut_weight_grad(du: np.ndarray, spikes_in: np.ndarray, layer: LayerSpec, k: int,
                    skip_zero: bool = True) -> np.ndarray:
    """dW = Σ_t Σ_b du ⊗ o computed with LUTs over k-timestep spike histories.

    ``du``: float [T, B, *layer.out_shape]; ``spikes_in``: bool [T, B, *layer.in_shape].
    Returns dW in the weights' layout (fc (N_out, N_in), conv (C_out, C_in, K, K)).
    ``skip_zero`` skips all-zero du groups and zero spike histories (same result).
    """
    _check_k(k)
    if not layer.has_weights:
        raise ValueError(f"layer {layer.name}: {layer.kind} has no trainable weights")
    du_points = _time_groups(positions_last(layer, du), k)        # [T', k, B, P, C]
    cols = _time_groups(fan_in_columns(layer, spikes_in), k)      # [T', k, B, P, F]
    du_q = np.moveaxis(du_points, 1, -1).reshape(-1, layer.out_channels, k)  # [Q, C, k]
    bits_q = np.moveaxis(cols, 1, -1).reshape(-1, layer.fan_in, k)            # [Q, F, k]
    addresses = bits_q.astype(np.int64) @ (1 << np.arange(k)).astype(np.int64)  # [Q, F]
    built = np.ones(du_q.shape[:2], dtype=bool)
    if skip_zero:
        built = du_q.any(axis=-1)                 # [Q, C]: a group with du != 0 builds a LUT
        active = built.any(axis=-1)
        du_q, built, addresses = du_q[active], built[active], addresses[active]
    tables = subset_sum_tables(du_q) * built[..., None]           # [Q, C, 2^k]
    grad = np.zeros((layer.out_channels, layer.fan_in), dtype=tables.dtype)
    for value in range(1 if skip_zero else 0, 1 << k):
        hits = (addresses == value).astype(tables.dtype)          # lookups reading entry `value`
        grad += tables[:, :, value].T @ hits
    return from_fan_in_matrix(layer, grad)
