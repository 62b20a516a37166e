"""Backward Engine cost: do = W^T · du with dual sparsity, over parallel lanes.

The BE computes do[t, n] = W[n+1]^T du[t, n+1] for the output neurons i of
layer n, which are the inputs of ``layer_next``. The dot product of neuron i
runs over its *transposed window*: the outputs of ``layer_next`` that read i —

- fc: every output of ``layer_next``;
- conv: every output channel × the output positions whose K×K (strided,
  padded) receptive field contains i's pixel; borders have fewer;
- avgpool: the pooled output of i's own channel (none for a pixel the pool
  crops away).

Work of neuron i, in MACs: (h_i if output sparsity is used else 1) ×
(non-zeros of du in i's window if input sparsity is used else the window
size). ``sparsity`` = "dual" uses both, "input" / "output" one, "dense"
neither. Window non-zero counts come from transposed box sums of a
per-position du count (summed over channels for conv), so no window is ever
materialised.

Lanes, ``lane_mapping="packed"`` (the default): a compaction stage (a prefix
sum over the h bits of the tile) lists the (sample, neuron) pairs the BE must
compute — those with h = 1 when output sparsity is used, all of them
otherwise — in sample-major, C-order, and deals the j-th pair to lane
j % lanes. A lane therefore never waits on a neuron whose gradient is gated
to zero, and samples share the lanes, so output sparsity saves cycles in
proportion to the masks. The tile takes as long as its busiest lane:
ceil(max_lane work / macs_per_lane_per_cycle). Any lane may get any neuron,
so du and the weights reach the lanes over a broadcast bus rather than from a
private bank (see docs/energy-area-gpu.md for how that is priced).

The static mappings are kept as the ablation the packing is measured against:
``"neuron"``: flattened (C-order) neuron index i on lane i % lanes;
``"channel"``: channel c (with all its positions) on lane c % lanes (an fc
input is its own channel, so both coincide there). The samples of the batch
then run one after another, a sample taking as long as its busiest lane:
Σ_samples ceil(max_lane work / macs_per_lane_per_cycle), gated neurons
included — output sparsity saves no cycles on a layer with ≤ lanes inputs.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tlm.config import BackwardEngineConfig
from tlm.costs.tile import TileCost, as_neuron_shape
from tlm.functional.geometry import transposed_box_sum
from traces.network import LayerSpec


def _as_bool(x: np.ndarray) -> np.ndarray:
    """Patterns as bool, which the byte-wise counting below relies on."""
    return x if x.dtype == np.bool_ else x != 0


def _tiles(layer: LayerSpec, h_mask: np.ndarray, du: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h as [B, *in_shape] and du as [B, *out_shape] (flattened neurons accepted)."""
    h_mask = as_neuron_shape(_as_bool(h_mask), 1, layer.in_shape, f"layer {layer.name}: h mask")
    du = as_neuron_shape(_as_bool(du), 1, layer.out_shape, f"layer {layer.name}: du")
    if h_mask.shape[0] != du.shape[0]:
        raise ValueError(f"layer {layer.name}: h mask batch {h_mask.shape[0]} "
                         f"!= du batch {du.shape[0]}")
    return h_mask, du


def window_nonzeros(layer: LayerSpec, du: np.ndarray) -> np.ndarray:
    """Non-zeros of ``du[B, *out_shape]`` in each input neuron's transposed window.

    Returns an int array broadcastable to [B, *layer.in_shape]: [B, 1] for fc,
    [B, 1, H, W] for conv (the same for every input channel), [B, C, H, W] for avgpool.
    """
    batch = du.shape[0]
    if layer.kind == "fc":
        return np.count_nonzero(du.reshape(batch, -1), axis=1)[:, None]
    in_hw = tuple(layer.in_shape[1:])
    per_position = _channel_sum(du)[:, None] if layer.kind == "conv" else du
    return transposed_box_sum(per_position, layer.kernel, layer.stride, layer.padding, in_hw)


def _channel_sum(x: np.ndarray) -> np.ndarray:
    """Σ over axis 1 of a bool [B, C, ...] array (uint16 adds are ~4x faster than int64)."""
    dtype = np.uint16 if x.shape[1] < 1 << 16 else np.int64
    return np.add.reduce(x.view(np.uint8), axis=1, dtype=dtype).astype(np.int64)


@functools.lru_cache(maxsize=256)
def window_sizes(layer: LayerSpec) -> np.ndarray:
    """Size of each input neuron's transposed window, broadcastable to [1, *in_shape]."""
    if layer.kind == "fc":
        sizes = np.full((1, 1), layer.out_neurons, dtype=np.int64)
    else:
        ones = np.ones((1, 1) + tuple(layer.out_shape[1:]), dtype=np.int64)
        positions = transposed_box_sum(ones, layer.kernel, layer.stride, layer.padding,
                                       tuple(layer.in_shape[1:])).astype(np.int64)
        sizes = positions * (layer.out_channels if layer.kind == "conv" else 1)
    sizes.flags.writeable = False  # shared by every caller through the cache
    return sizes


@functools.lru_cache(maxsize=256)
def dense_macs_per_sample(layer: LayerSpec) -> int:
    """MACs of one sample with no sparsity: Σ of the window sizes over all inputs."""
    return int(np.broadcast_to(window_sizes(layer), (1,) + tuple(layer.in_shape)).sum())


def neuron_work(layer_next: LayerSpec, h_mask_t: np.ndarray, du_next_t: np.ndarray,
                sparsity: str) -> np.ndarray:
    """MACs of each output neuron of layer n (input of ``layer_next``): int [B, *in_shape]."""
    mask, per_window = _mask_and_windows(layer_next, h_mask_t, du_next_t, sparsity)
    shape = (h_mask_t.shape[0],) + tuple(layer_next.in_shape)
    return np.broadcast_to(mask * per_window, shape)


def _mask_and_windows(layer: LayerSpec, h_mask: np.ndarray, du: np.ndarray,
                      sparsity: str) -> tuple[np.ndarray, np.ndarray]:
    """(gate h or ones, window non-zeros or sizes): work = their product."""
    use_input = sparsity in ("dual", "input")
    per_window = window_nonzeros(layer, du) if use_input else window_sizes(layer)
    if sparsity in ("dual", "output"):
        return h_mask, per_window
    return np.ones((1,) * h_mask.ndim, dtype=bool), per_window


def lane_loads(work: np.ndarray, lanes: int, mapping: str) -> np.ndarray:
    """Per-sample, per-lane MACs under the static mapping: int [B, lanes]."""
    batch = work.shape[0]
    work = work.astype(np.int64, copy=False)  # a 0/1 map may come in one byte per entry
    if mapping == "channel" and work.ndim > 2:
        units = work.reshape(batch, work.shape[1], -1).sum(axis=-1)   # [B, C]
    else:
        units = work.reshape(batch, -1)                                 # [B, neurons]
    return _fold_lanes(units, lanes)


def _fold_lanes(units: np.ndarray, lanes: int) -> np.ndarray:
    """[B, U] -> [B, lanes]: unit u adds into lane u % lanes."""
    batch, count = units.shape
    full = count - count % lanes
    loads = units[:, :full].reshape(batch, -1, lanes).sum(axis=1, dtype=np.int64)
    if full < count:  # the last, partial round of units
        loads[:, :count - full] += units[:, full:]
    return loads


def _mask_fold(mask: np.ndarray, period: int) -> np.ndarray:
    """bool [B, C, S] -> int [B, period, S]: Σ of the channels c ≡ r (mod period)."""
    batch, channels, spread = mask.shape
    full = channels - channels % period
    folded = _channel_sum(mask[:, :full].reshape(batch, full // period, period * spread))
    folded = folded.reshape(batch, period, spread)
    if full < channels:
        folded[:, :channels - full] += mask[:, full:]
    return folded


def shared_window_loads(h_mask: np.ndarray, per_window: np.ndarray, lanes: int,
                        mapping: str) -> np.ndarray:
    """Lane loads [B, lanes] when every channel of a pixel has the same window count.

    ``h_mask`` bool [B, C, S] (S pixels per channel), ``per_window`` int [B, S].
    Neuron (c, s) is flat index c·S + s; its lane repeats every
    period = lanes / gcd(S, lanes) channels, so the mask is first folded to
    per-(channel class, pixel) counts — one pass over h — and only then
    multiplied by the window counts. With channel mapping a channel's load is
    its mask · window dot product.
    """
    batch, channels, spread = h_mask.shape
    if mapping == "channel" and spread > 1:
        loads = np.einsum("bcs,bs->bc", h_mask.astype(np.int64), per_window)
        return _fold_lanes(loads, lanes)
    period = lanes // math.gcd(spread, lanes)
    if channels <= period:
        return _fold_lanes((h_mask * per_window[:, None]).reshape(batch, -1), lanes)
    work = _mask_fold(h_mask, period) * per_window[:, None]   # [B, period, S], lcm(S, lanes) wide
    return work.reshape(batch, -1, lanes).sum(axis=1)


def _loads(layer: LayerSpec, h_mask: np.ndarray, du: np.ndarray,
           cfg: BackwardEngineConfig) -> np.ndarray:
    """Per-sample lane loads [B, lanes] of a tile, without materialising int work."""
    mask, per_window = _mask_and_windows(layer, h_mask, du, cfg.sparsity)
    batch = h_mask.shape[0]
    mask = np.broadcast_to(mask, h_mask.shape)
    if layer.kind == "avgpool":  # a per-neuron window count: work is neuron-wise anyway
        return lane_loads(mask * per_window, cfg.lanes, cfg.lane_mapping)
    channels = layer.in_shape[0] if layer.kind == "conv" else layer.in_neurons
    spread = math.prod(layer.in_shape[1:]) if layer.kind == "conv" else 1
    windows = np.broadcast_to(per_window, (batch, 1) + tuple(layer.in_shape[1:]))
    return shared_window_loads(mask.reshape(batch, channels, spread),
                               windows.reshape(batch, spread), cfg.lanes, cfg.lane_mapping)


def packed_loads(layer: LayerSpec, h_mask: np.ndarray, du: np.ndarray,
                 cfg: BackwardEngineConfig) -> np.ndarray:
    """Lane loads [lanes] of a tile whose (sample, neuron) pairs are dealt round-robin.

    The work map is one broadcast product in a narrow integer type; boolean
    indexing then keeps the dealt pairs in order, and a reshape to rows of
    ``lanes`` sums each lane's share: three passes over the tile, no gather.
    """
    mask, per_window = _mask_and_windows(layer, h_mask, du, cfg.sparsity)
    if per_window.dtype.itemsize > 4:
        per_window = per_window.astype(np.int32)  # window counts stay far below 2^31
    if cfg.sparsity in ("dual", "output"):
        work = (h_mask * per_window)[h_mask]       # sample-major, C-order, h = 1 only
    else:
        work = np.broadcast_to(per_window, h_mask.shape).reshape(-1)
    lanes = cfg.lanes
    padded = np.zeros(-(-work.size // lanes) * lanes, dtype=np.int64)
    padded[:work.size] = work
    return padded.reshape(-1, lanes).sum(axis=0)


def backward_cost(layer_next: LayerSpec, h_mask_t: np.ndarray, du_next_t: np.ndarray,
                  cfg: BackwardEngineConfig) -> TileCost:
    """One timestep, whole batch: do for all inputs of ``layer_next`` (= outputs of layer n).

    ``h_mask_t``: bool [B, *layer_next.in_shape] (layer n's surrogate mask);
    ``du_next_t``: bool [B, *layer_next.out_shape] (non-zero pattern of du[t, n+1]).
    Flattened neuron axes ([B, neurons]) are accepted too.
    """
    h_mask_t, du_next_t = _tiles(layer_next, h_mask_t, du_next_t)
    if cfg.lane_mapping == "packed":
        loads = packed_loads(layer_next, h_mask_t, du_next_t, cfg)[None]   # one round: [1, lanes]
    else:
        loads = _loads(layer_next, h_mask_t, du_next_t, cfg)               # [B, lanes]
    busiest = loads.max(axis=1)
    cycles = int((-(-busiest // cfg.macs_per_lane_per_cycle)).sum())
    done = int(loads.sum())  # the lanes partition the neurons
    dense = h_mask_t.shape[0] * dense_macs_per_sample(layer_next)
    return TileCost(cycles, {"mac": done}, {"mac": dense - done})
