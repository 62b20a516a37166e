"""Weight Update Engine cost: LUTs of du subset sums addressed by spike histories.

A tile is one group of g ≤ k consecutive timesteps (``tlm.functional.lut``:
the points of a LUT group are consecutive timesteps of one sample at one
output position). For every point group (sample b, output position p):

- a LUT of 2^g entries is built for each output channel c whose du is
  non-zero at some of the g steps (every channel when ``skip_zero_groups`` is
  off): 2^g - 1 entry writes and 2^g - 1 - g adds (doubling, entry 0 wired to
  zero) — nzc(b, p) channels;
- each input i of c's fan-in whose g-step spike history is non-zero (every
  fan-in entry, padded taps included, when ``skip_zero_patterns`` is off) does
  one lookup and one add into the dW[c, i] accumulator — nzi(b, p) inputs,
  the same for every channel (for conv, a box sum of the per-pixel count of
  channels with a non-zero history).

So lookups = Σ_(b, p) nzc · nzi. A PE looks up only in its own LUT (2^k
entries in its registers), so when the tile has fewer tables than PEs the
spare PEs each hold a copy of one table and take a share of its lookups: every
table is written ``wue_lut_copies`` times (pes // tables, at most one copy per
lookup the table serves) (``lut_write`` counts the copies; the
adds that fill a table are done once and broadcast). Each accumulation is a read-modify-write of
its dW word in the gradient buffer (``grad_read`` + ``grad_write``, one
``grad_bits`` word each), in both modes. Each group's lookups form an nzc × nzi
rectangle that splits evenly over the PE array, and a PE writes or reads one
LUT entry per cycle, so cycles = ceil((writes + lookups) / pes) — an
ideal-balance bound, like the Forward Engine's.

Ablation ``mode="accumulate"``: no LUTs; o is binary, so du[p][c] · o[p][i]
is "add du or not": one add per (du != 0, spike = 1) pair at every single
timestep (per pair of all channels / all fan-in entries when the matching
skip flag is off), ``pes`` adds per cycle. This is the baseline against which
the LUT's fusion of g timesteps into one lookup is measured.

Average pooling has no weights and costs nothing.
"""

from __future__ import annotations

import math

import numpy as np

from tlm.config import WeightUpdateEngineConfig
from tlm.costs.tile import TileCost, as_neuron_shape
from tlm.functional.geometry import box_sum
from traces.network import LayerSpec


def _tiles(layer: LayerSpec, du: np.ndarray, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """du as [g, B, *out_shape] and spikes as [g, B, *in_shape] (flattened neurons accepted)."""
    du = du if du.dtype == np.bool_ else du != 0  # counted byte-wise below
    spikes = spikes if spikes.dtype == np.bool_ else spikes != 0
    du = as_neuron_shape(du, 2, layer.out_shape, f"layer {layer.name}: du group")
    spikes = as_neuron_shape(spikes, 2, layer.in_shape, f"layer {layer.name}: input spike group")
    if du.shape[:2] != spikes.shape[:2]:
        raise ValueError(f"layer {layer.name}: du group {du.shape[:2]} and spike group "
                         f"{spikes.shape[:2]} differ in (steps, batch)")
    return du, spikes


def _count_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """Non-zeros of a bool array along ``axis``, as int64 (summed in uint16: ~4x faster)."""
    dtype = np.uint16 if x.shape[axis] < 1 << 16 else np.int64
    return np.add.reduce(x.view(np.uint8), axis=axis, dtype=dtype).astype(np.int64)


def channels_per_point(layer: LayerSpec, du: np.ndarray) -> np.ndarray:
    """Non-zero channels of bool ``du[..., *out_shape]`` at each point: int [..., P]."""
    if layer.kind == "fc":
        return _count_axis(du, -1)[..., None]
    counts = _count_axis(du, -3)  # reduce the channel axis in place of a transposed copy
    return counts.reshape(counts.shape[:-2] + (layer.out_positions,))


def inputs_per_point(layer: LayerSpec, spikes: np.ndarray) -> np.ndarray:
    """Spiking inputs of bool ``spikes[..., *in_shape]`` in each point's fan-in: int [..., P]."""
    if layer.kind == "fc":
        return _count_axis(spikes, -1)[..., None]
    per_pixel = _count_axis(spikes, -3)
    counts = box_sum(per_pixel, layer.kernel, layer.stride, layer.padding,
                     tuple(layer.out_shape[1:]))
    return counts.reshape(counts.shape[:-2] + (layer.out_positions,))


def wue_lut_copies(tables: int, lookups: int, pes: int) -> int:
    """Copies of each table: one per spare PE, but never more than its lookups need."""
    if tables == 0:
        return 1
    return max(1, min(pes // tables, -(-lookups // tables)))


def _lut_cost(layer: LayerSpec, du: np.ndarray, spikes: np.ndarray,
              cfg: WeightUpdateEngineConfig) -> TileCost:
    steps, batch = du.shape[:2]
    points = batch * layer.out_positions
    nzc = (channels_per_point(layer, du.any(axis=0)) if cfg.skip_zero_groups
           else np.full((batch, layer.out_positions), layer.out_channels, dtype=np.int64))
    nzi = (inputs_per_point(layer, spikes.any(axis=0)) if cfg.skip_zero_patterns
           else np.full((batch, layer.out_positions), layer.fan_in, dtype=np.int64))
    tables = int(nzc.sum())
    lookups = int((nzc * nzi).sum())
    copies = wue_lut_copies(tables, lookups, cfg.pes)
    writes = copies * tables * ((1 << steps) - 1)
    build_adds = tables * ((1 << steps) - 1 - steps)
    all_tables = points * layer.out_channels
    all_lookups = all_tables * layer.fan_in
    ops = {"lut_write": writes, "lut_read": lookups, "add": build_adds + lookups,
           "grad_read": lookups, "grad_write": lookups}
    skipped_writes = (all_tables - tables) * ((1 << steps) - 1)
    skipped_adds = (all_tables - tables) * ((1 << steps) - 1 - steps) + all_lookups - lookups
    skipped = {"lut_write": skipped_writes, "lut_read": all_lookups - lookups,
               "add": skipped_adds}
    return TileCost(math.ceil((writes + lookups) / cfg.pes), ops, skipped)


def _accumulate_cost(layer: LayerSpec, du: np.ndarray, spikes: np.ndarray,
                     cfg: WeightUpdateEngineConfig) -> TileCost:
    steps, batch = du.shape[:2]
    dense = steps * batch * layer.out_positions * layer.out_channels * layer.fan_in
    nzc = channels_per_point(layer, du) if cfg.skip_zero_groups else layer.out_channels
    nzi = inputs_per_point(layer, spikes) if cfg.skip_zero_patterns else layer.fan_in
    pairs = np.broadcast_to(np.asarray(nzc, dtype=np.int64) * nzi,
                            (steps, batch, layer.out_positions))
    adds = int(pairs.sum())
    return TileCost(math.ceil(adds / cfg.pes),
                    {"add": adds, "grad_read": adds, "grad_write": adds}, {"add": dense - adds})


def weight_update_cost(layer: LayerSpec, du_group: np.ndarray, spikes_in_group: np.ndarray,
                       cfg: WeightUpdateEngineConfig) -> TileCost:
    """Cost of accumulating dW of ``layer`` over one group of g ≤ lut_k timesteps.

    ``du_group``: bool [g, B, *layer.out_shape] (du non-zero pattern);
    ``spikes_in_group``: bool [g, B, *layer.in_shape] (the layer's input spikes).
    Flattened neuron axes ([g, B, neurons]) are accepted too.
    """
    if not layer.has_weights:
        return TileCost()
    du_group, spikes_in_group = _tiles(layer, du_group, spikes_in_group)
    steps = du_group.shape[0]
    if cfg.mode == "lut" and not 1 <= steps <= cfg.lut_k:
        raise ValueError(f"layer {layer.name}: a LUT group of {steps} timesteps, "
                         f"expected 1..{cfg.lut_k} (wue.lut_k)")
    if cfg.mode == "accumulate":
        return _accumulate_cost(layer, du_group, spikes_in_group, cfg)
    return _lut_cost(layer, du_group, spikes_in_group, cfg)
