"""Forward Engine costs: LUT build, LUT lookups, LUT storage.

Grouping is that of ``tlm.functional.lut``: an output neuron's fan-in (fc:
flattened input; conv: (kh, kw, c_in) with c_in innermost; avgpool: (kh, kw)
of its own channel) is cut into G = ceil(fan_in / k) groups of k consecutive
entries, the last one shorter when k does not divide the fan-in. Counting the
groups with a spike never builds im2col (``GroupPlan``): a group inside one
tap is k adjacent channels at one pixel, so one pass over the tile gives a
per-pixel count, and a geometry-only weight per pixel (how many (point, tap)
pairs read it) turns that into the total over all points; the few groups that
straddle taps (k not dividing C_in, fc's short last group, pooling windows)
are OR-ed from shifted views.

LUT build (per output channel and group of m entries, filled by doubling as in
``subset_sum_tables``): entry 0 is a hard-wired zero, so 2^m - 1 entries are
written; the m single-weight entries are copies and the other 2^m - 1 - m
entries take one add each; each of the m weights is read once. A PE writes one
entry per cycle, so build cycles = ceil(writes / pes). Average pooling has one
fixed weight, so one tiny table of 2^min(k, K²) entries serves all channels.

Lookups and PE mapping: every output channel of the tile sees the same input
spike patterns, so all channels do the same number of lookups. A table is one
(output channel, fan-in group) LUT, addressed only by that group's pattern;
PEs are assigned tables round-robin, each PE doing one lookup and one add
(into the channel's partial-sum reduction) per cycle in its own single-port
LUT bank. When the tile has fewer tables than PEs, the points are split over
the spare PEs, and each of them needs its own copy of its table: the build
writes every table ``lut_replicas`` times (the adds are done once and the
sums broadcast), the copies occupy the LUT buffer, and only as many copies as
fit are made — with fewer copies, fewer PEs work (``lookup_pes``). cycles =
ceil(lookups / lookup_pes): exact when the channel count divides evenly, an
ideal-balance bound otherwise. With ``skip_zero_patterns`` a group whose k-bit
pattern is zero is not looked up. (The ``accumulate`` ablation is not charged
copies: its weight reads keep the ideal balance, which favours the ablation.)

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

import functools
import math
from typing import NamedTuple

import numpy as np

from tlm.config import ForwardEngineConfig
from tlm.costs.tile import TileCost, as_neuron_shape
from tlm.functional.geometry import tap_hits, tap_span
from traces.network import LayerSpec


def _group_sizes(fan_in: int, k: int) -> tuple[int, int]:
    """(number of full groups of k, size of the short last group or 0)."""
    return fan_in // k, fan_in % k


def _table_build(m: int) -> tuple[int, int]:
    """(entry writes, adds) to fill one table of 2^m entries by doubling."""
    return (1 << m) - 1, (1 << m) - 1 - m


def lut_replicas(layer: LayerSpec, cfg: ForwardEngineConfig, out_channels: int) -> int:
    """Copies of each LUT of the tile so that the PEs can look up in parallel.

    ``pes // tables`` copies are wanted (one per PE sharing a table), as many as
    the LUT buffer holds are made; 1 in accumulate mode or when every PE has a
    table of its own.
    """
    if cfg.mode == "accumulate":
        return 1
    wanted = max(1, cfg.pes // lut_tables(layer, cfg, out_channels))
    room = cfg.lut_buffer_kib * 1024 // max(1, lut_storage_bytes(layer, cfg, out_channels))
    return max(1, min(wanted, room))


def lookup_pes(layer: LayerSpec, cfg: ForwardEngineConfig, out_channels: int) -> int:
    """PEs that can look up at once: one per table copy, at most ``pes``."""
    if cfg.mode == "accumulate":
        return cfg.pes
    return min(cfg.pes, lut_tables(layer, cfg, out_channels)
               * lut_replicas(layer, cfg, out_channels))


def lut_tables(layer: LayerSpec, cfg: ForwardEngineConfig, out_channels: int) -> int:
    """Distinct LUTs of a tile: one per (output channel, fan-in group); a pool shares one."""
    if layer.kind == "avgpool":
        return 1
    return max(1, out_channels) * math.ceil(layer.fan_in / cfg.lut_k)


def lut_build_cost(layer: LayerSpec, cfg: ForwardEngineConfig, out_channels: int) -> TileCost:
    """Cost of building the LUTs of ``out_channels`` output channels of ``layer``,
    every copy of ``lut_replicas`` written by its own PE."""
    if cfg.mode == "accumulate":
        return TileCost()
    copies = lut_replicas(layer, cfg, out_channels)
    if layer.kind == "avgpool":
        writes, adds = _table_build(min(cfg.lut_k, layer.kernel * layer.kernel))
        writes *= copies
        return TileCost(math.ceil(writes / cfg.pes), {"lut_write": writes, "add": adds})
    full, rest = _group_sizes(layer.fan_in, cfg.lut_k)
    full_writes, full_adds = _table_build(cfg.lut_k)
    rest_writes, rest_adds = _table_build(rest) if rest else (0, 0)
    writes = copies * out_channels * (full * full_writes + rest_writes)
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


class Window(NamedTuple):
    """A layer's fan-in as the group counter sees it: x[L, C, H, W] read through K×K taps.

    fc is one 1×1 tap over C = in_neurons channels; avgpool folds its channels
    into L, each reading C = 1 channel (itself); conv is itself.
    """

    channels: int
    kernel: int
    stride: int
    padding: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]


class GroupPlan(NamedTuple):
    """How the fan-in groups of width k fall on a window (depends on geometry only).

    ``interior``: phase -> weights [H*W] (or one int when uniform). A full group
    inside one tap spans channels [phase + m·k, phase + (m+1)·k) of its pixel,
    where the tap's phase (t·C mod k) fixes where groups start; weights[pixel]
    counts the (output point, tap of that phase) pairs that read the pixel, so
    Σ_pixels (live groups at the pixel) · weights is their count over all
    points, with no box sum. ``explicit``: the groups that straddle taps or are
    short (the last one), as (dy, dx, c0, c1) channel segments; at most about
    K² of them, each counted by OR-ing its segments' shifted views.
    """

    interior: dict[int, np.ndarray | int]
    explicit: tuple[tuple[tuple[int, int, int, int], ...], ...]


def window_of(layer: LayerSpec, spikes: np.ndarray) -> tuple[Window, np.ndarray]:
    """(the layer's Window, the spike tile as x[L, C, H, W] for it)."""
    batch = spikes.shape[0]
    if spikes.dtype != np.bool_:  # the run views below read one byte per input
        spikes = spikes != 0
    if layer.kind == "fc":
        return Window(layer.in_neurons, 1, 1, 0, (1, 1), (1, 1)), spikes.reshape(batch, -1, 1, 1)
    in_hw, out_hw = tuple(layer.in_shape[1:]), tuple(layer.out_shape[1:])
    window = Window(layer.in_shape[0], layer.kernel, layer.stride, layer.padding, in_hw, out_hw)
    if layer.kind == "avgpool":
        return window._replace(channels=1), spikes.reshape((-1, 1) + in_hw)
    return window, spikes


def _segments(window: Window, start: int, end: int) -> tuple[tuple[int, int, int, int], ...]:
    """Fan-in entries [start, end) as (dy, dx, c0, c1) runs of channels at one tap."""
    segments, position, channels = [], start, window.channels
    while position < end:
        tap, c0 = divmod(position, channels)
        c1 = min(channels, c0 + end - position)
        segments.append((tap // window.kernel, tap % window.kernel, c0, c1))
        position += c1 - c0
    return tuple(segments)


@functools.lru_cache(maxsize=256)
def group_plan(window: Window, k: int) -> GroupPlan:
    """The GroupPlan of groups of width ``k`` over ``window`` (cached: geometry only)."""
    channels, kernel = window.channels, window.kernel
    rows = tap_hits(kernel, window.stride, window.padding, window.in_hw[0], window.out_hw[0])
    cols = tap_hits(kernel, window.stride, window.padding, window.in_hw[1], window.out_hw[1])
    interior: dict[int, np.ndarray] = {}
    for tap in range(kernel * kernel):
        phase = -tap * channels % k
        if (channels - phase) // k > 0:
            hits = np.outer(rows[tap // kernel], cols[tap % kernel]).reshape(-1)
            interior[phase] = interior.get(phase, 0) + hits
    fan_in = kernel * kernel * channels
    explicit = []
    for start in range(0, fan_in, k):  # keep the groups the interior weights do not count
        end = min(fan_in, start + k)
        if end - start < k or start // channels != (end - 1) // channels:
            explicit.append(_segments(window, start, end))
    uniform = {phase: int(w[0]) if (w == w[0]).all() else w for phase, w in interior.items()}
    return GroupPlan(uniform, tuple(explicit))


def _live_runs(block: np.ndarray, k: int) -> np.ndarray:
    """block[L, M·k, H, W] -> bool: which of the M runs of k channels hold a spike.

    For a 1×1 window the runs are contiguous bytes: k in (1, 2, 4, 8) reads each
    run as one integer, other k OR k strided slices; reshape+any over a short
    last axis would be ~100x slower.
    """
    lead, width, height, wide = block.shape
    if height * wide > 1:
        return block.reshape(lead, width // k, k, height, wide).any(axis=2)
    flat = block.reshape(lead, width)
    if k in _RUN_DTYPES:
        return flat.view(_RUN_DTYPES[k])  # non-zero <=> some byte (spike) of the run is set
    live = flat[:, 0::k] | flat[:, 1::k]
    for j in range(2, k):
        live |= flat[:, j::k]
    return live


_RUN_DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _weighted_count(live: np.ndarray, weights: np.ndarray | int) -> int:
    """Σ over [L, M, H, W] of non-zero entries, each weighted by weights[pixel]."""
    if isinstance(weights, int):
        return np.count_nonzero(live) * weights
    rows = live.reshape(-1, weights.shape[0])
    # uint16 sums are ~4x faster than int64 ones and cannot overflow below 2^16 rows
    dtype = np.uint16 if rows.shape[0] < 1 << 16 else np.int64
    per_pixel = np.add.reduce(rows.view(np.uint8), axis=0, dtype=dtype)
    return int(per_pixel.astype(np.int64) @ weights)


def _explicit_count(x: np.ndarray, window: Window, segments: tuple) -> int:
    """Points (over L and outputs) at which one straddling/short group holds a spike."""
    (in_h, in_w), (out_h, out_w), stride = window.in_hw, window.out_hw, window.stride
    live = np.zeros((x.shape[0],) + window.out_hw, dtype=bool)
    for dy, dx, c0, c1 in segments:
        oy0, oy1, iy = tap_span(dy, in_h, out_h, stride, window.padding)
        ox0, ox1, ix = tap_span(dx, in_w, out_w, stride, window.padding)
        if oy1 > oy0 and ox1 > ox0:  # else this tap only reads padding
            read = x[:, c0:c1, iy:iy + (oy1 - oy0 - 1) * stride + 1:stride,
                     ix:ix + (ox1 - ox0 - 1) * stride + 1:stride]
            live[:, oy0:oy1, ox0:ox1] |= read[:, 0] if c1 - c0 == 1 else read.any(axis=1)
    return int(np.count_nonzero(live))


def nonzero_group_count(layer: LayerSpec, spikes: np.ndarray, k: int) -> int:
    """Σ over points (sample, output position[, pool channel]) of fan-in groups with a spike.

    ``spikes`` as from ``_spike_tile``; ``k`` is the group width (for avgpool the
    caller caps it at K²). Padded taps never hold a spike.
    """
    window, x = window_of(layer, spikes)
    plan = group_plan(window, k)
    total = 0
    for phase, weights in plan.interior.items():
        runs = (window.channels - phase) // k
        total += _weighted_count(_live_runs(x[:, phase:phase + runs * k], k), weights)
    return total + sum(_explicit_count(x, window, segments) for segments in plan.explicit)


def spike_input_count(layer: LayerSpec, spikes: np.ndarray) -> int:
    """Σ over points of the spiking inputs in the point's window (pool: per channel)."""
    return nonzero_group_count(layer, spikes, 1)  # groups of one input


def _points_and_fan_out(layer: LayerSpec, batch: int, out_channels: int) -> tuple[int, int]:
    """(points whose fan-in is walked, output channels sharing each point's pattern).

    A pool channel reads only itself, so its channels are separate points of one
    shared table; conv/fc points are (sample, position), shared by all channels.
    """
    if layer.kind == "avgpool":
        return batch * out_channels * layer.out_positions, 1
    return batch * layer.out_positions, out_channels


def live_pattern_count(layer: LayerSpec, spikes_in_t: np.ndarray, cfg: ForwardEngineConfig,
                       out_channels: int) -> int:
    """The spike-dependent part of ``lookup_cost``: lookups (accumulate mode: spiking
    inputs) per output channel, Σ over the tile's points.

    For conv and fc it does not depend on ``out_channels`` (every channel sees the
    same patterns), so an engine that tiles output channels can count a spike tile
    once and pass the count to ``lookup_cost`` for every channel tile.
    """
    spikes_in_t = _spike_tile(layer, spikes_in_t, out_channels)
    if cfg.mode == "accumulate":
        return spike_input_count(layer, spikes_in_t)
    k = min(cfg.lut_k, layer.fan_in) if layer.kind == "avgpool" else cfg.lut_k
    return nonzero_group_count(layer, spikes_in_t, k)


def lookup_cost(layer: LayerSpec, spikes_in_t: np.ndarray, cfg: ForwardEngineConfig,
                out_channels: int, live_patterns: int | None = None) -> TileCost:
    """One timestep, the whole batch, ``out_channels`` output channels of ``layer``.

    ``spikes_in_t``: bool [B, *layer.in_shape], or [B, in_neurons] flattened (for
    avgpool, [B, c, H, W] holding the tile's own ``out_channels`` channels, since a
    pool channel reads only itself). ``live_patterns``: this tile's
    ``live_pattern_count``, when the caller already has it.
    """
    spikes_in_t = _spike_tile(layer, spikes_in_t, out_channels)
    points, fan_out = _points_and_fan_out(layer, spikes_in_t.shape[0], out_channels)
    live = None
    if cfg.skip_zero_patterns:
        live = (live_pattern_count(layer, spikes_in_t, cfg, out_channels)
                if live_patterns is None else live_patterns)
    if cfg.mode == "accumulate":
        dense = points * layer.fan_in * fan_out
        done = live * fan_out if live is not None else dense
        return TileCost(math.ceil(done / cfg.pes), {"add": done, "weight_read": done},
                        {"add": dense - done, "weight_read": dense - done})
    k = min(cfg.lut_k, layer.fan_in) if layer.kind == "avgpool" else cfg.lut_k
    dense = points * math.ceil(layer.fan_in / k) * fan_out
    done = live * fan_out if live is not None else dense
    return TileCost(math.ceil(done / lookup_pes(layer, cfg, out_channels)),
                    {"lut_read": done, "add": done},
                    {"lut_read": dense - done, "add": dense - done})
