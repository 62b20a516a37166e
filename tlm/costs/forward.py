"""Forward Engine costs: LUT build, LUT lookups, LUT storage.

Grouping is that of ``tlm.functional.lut``: an output neuron's fan-in (fc:
flattened input; conv: (kh, kw, c_in) with c_in innermost; avgpool: (kh, kw)
of its own channel) is cut into G = ceil(fan_in / k) groups of k consecutive
entries, the last one shorter when k does not divide the fan-in. When k
divides C_in a conv group is k adjacent channels at one pixel, so whether a
group has a spike is a per-pixel map, and box sums of that map over each
output's window count the non-zero groups without building any im2col.

LUT build (per output channel and group of m entries, filled by doubling as in
``subset_sum_tables``): entry 0 is a hard-wired zero, so 2^m - 1 entries are
written; the m single-weight entries are copies and the other 2^m - 1 - m
entries take one add each; each of the m weights is read once. A PE writes one
entry per cycle, so build cycles = ceil(writes / pes). Average pooling has one
fixed weight, so one tiny table of 2^min(k, K²) entries serves all channels.

Lookups and PE mapping: every output channel of the tile sees the same input
spike patterns, so all channels do the same number of lookups. PEs are
assigned output channels round-robin (and, when the tile has fewer channels
than PEs, the points of a channel are split over the spare PEs), each PE doing
one lookup and one accumulator add per cycle; the work is therefore balanced
and cycles = ceil(lookups / pes) — exact when the tile's channel count is a
multiple of ``pes``, an ideal-balance bound otherwise. With
``skip_zero_patterns`` a group whose k-bit pattern is zero is not looked up.

Ablation ``mode="accumulate"`` (the baseline the LUT gain is measured
against): no LUTs; binary inputs turn each product into "add the weight or
not", so the engine does one weight read + add per (input, output) pair — per
(spike = 1 input, output) pair when ``skip_zero_patterns`` is on (zero-skipping
accumulation), per (input, output) pair otherwise. The same ``pes`` adders do
one add per cycle each.

When nothing is skipped, padded conv taps count like real inputs: the PE walks
its full fan-in.
"""

from __future__ import annotations

import math

import numpy as np

from tlm.config import ForwardEngineConfig
from tlm.costs import TileCost, as_neuron_shape
from tlm.functional.geometry import box_sum, fan_in_columns
from tlm.functional.lut import split_groups
from traces.network import LayerSpec


def _group_sizes(fan_in: int, k: int) -> tuple[int, int]:
    """(number of full groups of k, size of the short last group or 0)."""
    return fan_in // k, fan_in % k


def _table_build(m: int) -> tuple[int, int]:
    """(entry writes, adds) to fill one table of 2^m entries by doubling."""
    return (1 << m) - 1, (1 << m) - 1 - m


def lut_build_cost(layer: LayerSpec, cfg: ForwardEngineConfig, out_channels: int) -> TileCost:
    """Cost of building the LUTs of ``out_channels`` output channels of ``layer``."""
    if cfg.mode == "accumulate":
        return TileCost()
    if layer.kind == "avgpool":
        writes, adds = _table_build(min(cfg.lut_k, layer.kernel * layer.kernel))
        return TileCost(math.ceil(writes / cfg.pes), {"lut_write": writes, "add": adds})
    full, rest = _group_sizes(layer.fan_in, cfg.lut_k)
    full_writes, full_adds = _table_build(cfg.lut_k)
    rest_writes, rest_adds = _table_build(rest) if rest else (0, 0)
    writes = out_channels * (full * full_writes + rest_writes)
    adds = out_channels * (full * full_adds + rest_adds)
    ops = {"lut_write": writes, "add": adds, "weight_read": out_channels * layer.fan_in}
    return TileCost(math.ceil(writes / cfg.pes), ops)


def lut_storage_bytes(layer: LayerSpec, cfg: ForwardEngineConfig, out_channels: int) -> int:
    """Bytes of LUT (or, for ``mode="accumulate"``, weight) storage for a tile of channels.

    A LUT bank is addressed by k bits, so every group occupies 2^k entries
    (also the short last one), i.e. 2^k / k times the weight storage.
    """
    if cfg.mode == "accumulate":
        bits = out_channels * layer.fan_in * cfg.weight_bits if layer.has_weights else 0
        return math.ceil(bits / 8)
    if layer.kind == "avgpool":
        return math.ceil((1 << min(cfg.lut_k, layer.kernel ** 2)) * cfg.lut_entry_bits / 8)
    groups = math.ceil(layer.fan_in / cfg.lut_k)
    return math.ceil(out_channels * groups * (1 << cfg.lut_k) * cfg.lut_entry_bits / 8)


def _spike_tile(layer: LayerSpec, spikes: np.ndarray, out_channels: int) -> np.ndarray:
    """The input spikes as [B, *in_shape] (avgpool: [B, out_channels, H, W])."""
    shape = tuple(layer.in_shape)
    if layer.kind == "avgpool":
        shape = (out_channels,) + shape[1:]  # a pooling tile carries its own channels
    return as_neuron_shape(spikes, 1, shape, f"layer {layer.name}: input spikes")


def nonzero_group_count(layer: LayerSpec, spikes: np.ndarray, k: int) -> int:
    """Σ over points (sample, output position[, pool channel]) of fan-in groups with a spike.

    ``k`` is the group width (for avgpool the caller caps it at K²).
    """
    if layer.kind == "conv" and layer.in_shape[0] % k == 0:
        batch, channels, height, width = spikes.shape
        grouped = spikes.reshape(batch, channels // k, k, height, width).any(axis=2)
        per_pixel = grouped.sum(axis=1, dtype=np.int64)           # [B, H, W]
        per_point = box_sum(per_pixel, layer.kernel, layer.stride, layer.padding,
                            tuple(layer.out_shape[1:]))
        return int(per_point.sum())
    if layer.kind == "avgpool" and k >= layer.fan_in:  # one group = the whole window
        windows = box_sum(spikes, layer.kernel, layer.stride, layer.padding,
                          tuple(layer.out_shape[1:]))
        return int(np.count_nonzero(windows))
    cols = fan_in_columns(layer, spikes)  # groups straddle pixels: count them explicitly
    return int(split_groups(cols, k).any(axis=-1).sum())


def spike_input_count(layer: LayerSpec, spikes: np.ndarray) -> int:
    """Σ over points of the spiking inputs in the point's window (pool: per channel)."""
    if layer.kind == "fc":
        return int(spikes.sum())
    per_pixel = spikes.sum(axis=1, dtype=np.int64) if layer.kind == "conv" else spikes
    return int(box_sum(per_pixel, layer.kernel, layer.stride, layer.padding,
                       tuple(layer.out_shape[1:])).sum())


def _points_and_fan_out(layer: LayerSpec, batch: int, out_channels: int) -> tuple[int, int]:
    """(points whose fan-in is walked, output channels sharing each point's pattern).

    A pool channel reads only itself, so its channels are separate points of one
    shared table; conv/fc points are (sample, position), shared by all channels.
    """
    if layer.kind == "avgpool":
        return batch * out_channels * layer.out_positions, 1
    return batch * layer.out_positions, out_channels


def lookup_cost(layer: LayerSpec, spikes_in_t: np.ndarray, cfg: ForwardEngineConfig,
                out_channels: int) -> TileCost:
    """One timestep, the whole batch, ``out_channels`` output channels of ``layer``.

    ``spikes_in_t``: bool [B, *layer.in_shape], or [B, in_neurons] flattened (for
    avgpool, [B, c, H, W] holding the tile's own ``out_channels`` channels, since a
    pool channel reads only itself).
    """
    spikes_in_t = _spike_tile(layer, spikes_in_t, out_channels)
    points, fan_out = _points_and_fan_out(layer, spikes_in_t.shape[0], out_channels)
    if cfg.mode == "accumulate":
        dense = points * layer.fan_in * fan_out
        done = spike_input_count(layer, spikes_in_t) * fan_out if cfg.skip_zero_patterns else dense
        return TileCost(math.ceil(done / cfg.pes), {"add": done, "weight_read": done},
                        {"add": dense - done, "weight_read": dense - done})
    k = min(cfg.lut_k, layer.fan_in) if layer.kind == "avgpool" else cfg.lut_k
    dense = points * math.ceil(layer.fan_in / k) * fan_out
    done = nonzero_group_count(layer, spikes_in_t, k) * fan_out if cfg.skip_zero_patterns else dense
    return TileCost(math.ceil(done / cfg.pes), {"lut_read": done, "add": done},
                    {"lut_read": dense - done, "add": dense - done})
