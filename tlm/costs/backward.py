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

Lanes: neurons are statically mapped to lanes as hardware would —
``lane_mapping="neuron"``: flattened (C-order) neuron index i on lane
i % lanes; ``"channel"``: channel c (with all its positions) on lane
c % lanes (an fc input is its own channel, so both mappings coincide there).
The samples of the batch are processed one after another, and a sample takes
as long as its busiest lane, so the tile's cycles are
Σ_samples ceil(max_lane work / macs_per_lane_per_cycle). This is where the
trace's load imbalance shows: an average-sparsity model would divide the
total work by the lane count.
"""

from __future__ import annotations

import numpy as np

from tlm.config import BackwardEngineConfig
from tlm.costs import TileCost, as_neuron_shape
from tlm.functional.geometry import transposed_box_sum
from traces.network import LayerSpec


def _tiles(layer: LayerSpec, h_mask: np.ndarray, du: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h as [B, *in_shape] and du as [B, *out_shape] (flattened neurons accepted)."""
    h_mask = as_neuron_shape(h_mask, 1, layer.in_shape, f"layer {layer.name}: h mask")
    du = as_neuron_shape(du, 1, layer.out_shape, f"layer {layer.name}: du")
    if h_mask.shape[0] != du.shape[0]:
        raise ValueError(f"layer {layer.name}: h mask batch {h_mask.shape[0]} "
                         f"!= du batch {du.shape[0]}")
    return h_mask, du


def window_nonzeros(layer: LayerSpec, du: np.ndarray) -> np.ndarray:
    """Non-zeros of ``du[B, *out_shape]`` in each input neuron's transposed window.

    Returns an int array broadcastable to [B, *layer.in_shape].
    """
    batch = du.shape[0]
    if layer.kind == "fc":
        return du.reshape(batch, -1).sum(axis=1, dtype=np.int64)[:, None]
    in_hw = tuple(layer.in_shape[1:])
    per_position = du.sum(axis=1, dtype=np.int64)[:, None] if layer.kind == "conv" else du
    return transposed_box_sum(per_position, layer.kernel, layer.stride, layer.padding, in_hw)


def window_sizes(layer: LayerSpec) -> np.ndarray:
    """Size of each input neuron's transposed window, broadcastable to [1, *in_shape]."""
    if layer.kind == "fc":
        return np.full((1, 1), layer.out_neurons, dtype=np.int64)
    ones = np.ones((1, 1) + tuple(layer.out_shape[1:]), dtype=np.int64)
    positions = transposed_box_sum(ones, layer.kernel, layer.stride, layer.padding,
                                   tuple(layer.in_shape[1:]))
    return positions * (layer.out_channels if layer.kind == "conv" else 1)


def neuron_work(layer_next: LayerSpec, h_mask_t: np.ndarray, du_next_t: np.ndarray,
                sparsity: str) -> np.ndarray:
    """MACs of each output neuron of layer n (input of ``layer_next``): int [B, *in_shape]."""
    use_input = sparsity in ("dual", "input")
    use_output = sparsity in ("dual", "output")
    per_window = window_nonzeros(layer_next, du_next_t) if use_input else window_sizes(layer_next)
    mask = h_mask_t if use_output else np.ones((1,) * h_mask_t.ndim, dtype=bool)
    shape = (h_mask_t.shape[0],) + tuple(layer_next.in_shape)
    return np.broadcast_to(mask * per_window, shape)


def lane_loads(work: np.ndarray, lanes: int, mapping: str) -> np.ndarray:
    """Per-sample, per-lane MACs under the static mapping: int [B, lanes]."""
    batch = work.shape[0]
    if mapping == "channel" and work.ndim > 2:
        units = work.reshape(batch, work.shape[1], -1).sum(axis=-1)   # [B, C]
    else:
        units = work.reshape(batch, -1)                                 # [B, neurons]
    pad = -units.shape[1] % lanes
    if pad:
        units = np.concatenate([units, np.zeros((batch, pad), dtype=units.dtype)], axis=1)
    return units.reshape(batch, -1, lanes).sum(axis=1)


def backward_cost(layer_next: LayerSpec, h_mask_t: np.ndarray, du_next_t: np.ndarray,
                  cfg: BackwardEngineConfig) -> TileCost:
    """One timestep, whole batch: do for all inputs of ``layer_next`` (= outputs of layer n).

    ``h_mask_t``: bool [B, *layer_next.in_shape] (layer n's surrogate mask);
    ``du_next_t``: bool [B, *layer_next.out_shape] (non-zero pattern of du[t, n+1]).
    Flattened neuron axes ([B, neurons]) are accepted too.
    """
    h_mask_t, du_next_t = _tiles(layer_next, h_mask_t, du_next_t)
    work = neuron_work(layer_next, h_mask_t, du_next_t, cfg.sparsity)
    busiest = lane_loads(work, cfg.lanes, cfg.lane_mapping).max(axis=1)
    cycles = int(np.ceil(busiest / cfg.macs_per_lane_per_cycle).sum())
    done = int(work.sum())
    dense = h_mask_t.shape[0] * int(np.broadcast_to(
        window_sizes(layer_next), (1,) + tuple(layer_next.in_shape)).sum())
    return TileCost(cycles, {"mac": done}, {"mac": dense - done})
