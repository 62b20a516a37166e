"""Window geometry shared by the LUT functional model and the cost functions.

Every layer reads its inputs through a window: fc through one window holding
all inputs, conv/avgpool through a K×K window slid with a stride over a
zero-padded input. Vectorised helpers cover what the engines need:

- ``box_sum``: for each output position, the sum of a per-pixel map over its
  receptive field (forward direction: "how many X does this output see");
- ``transposed_box_sum``: for each input pixel, the sum of a per-position map
  over the output positions whose receptive field contains the pixel (the
  transposed-conv window of the Backward Engine);
- ``fan_in_columns``: im2col, the explicit fan-in vector of every output point;
- ``tap_span`` / ``tap_hits``: along one axis, which outputs a window tap
  reads inside the input and which inputs it hits, so that a total over all
  points becomes a weighted sum over pixels (no box sum, no im2col).

The fan-in order is fixed project-wide: fc uses the flattened (C-order) input;
conv uses (kh, kw, c_in) with c_in innermost, so consecutive fan-in entries are
adjacent input channels at one pixel; avgpool (one channel per output) uses
(kh, kw). Weights in the usual layout — fc (N_out, N_in), conv
(C_out, C_in, K, K) — are converted to and from this order by
``fan_in_matrix`` / ``from_fan_in_matrix``.

Both box sums are separable: along each spatial axis they add K shifted,
strided slices, so they cost K contiguous adds per axis and never gather.
"""

from __future__ import annotations

import functools

import numpy as np

from traces.network import LayerSpec


def _along(ndim: int, axis: int, index: slice) -> tuple[slice, ...]:
    """An index tuple selecting ``index`` along ``axis`` and everything elsewhere."""
    full = [slice(None)] * ndim
    full[axis] = index
    return tuple(full)


def _pad_axis(x: np.ndarray, axis: int, before: int, total: int, step: int = 1,
              dtype: type = np.int32) -> np.ndarray:
    """Zeros of length ``total`` along ``axis`` with x placed at before, before+step, ..."""
    shape = list(x.shape)
    shape[axis] = total
    out = np.zeros(shape, dtype=dtype)  # counts per window stay far below 2^31
    out[_along(x.ndim, axis, slice(before, before + step * x.shape[axis], step))] = x
    return out


def _window_sum_axis(x: np.ndarray, axis: int, kernel: int, stride: int,
                     padding: int, out_size: int) -> np.ndarray:
    """Sum of K consecutive (zero-padded) entries along ``axis`` at each stride step."""
    span = (out_size - 1) * stride + 1
    padded = _pad_axis(x, axis, padding, max(x.shape[axis] + 2 * padding, span + kernel - 1))
    out = np.zeros_like(padded[_along(x.ndim, axis, slice(0, span, stride))])
    for j in range(kernel):  # K shifted strided slices: contiguous adds, no gather
        out += padded[_along(x.ndim, axis, slice(j, j + span, stride))]
    return out


def box_sum(pixel_map: np.ndarray, kernel: int, stride: int, padding: int,
            out_hw: tuple[int, int]) -> np.ndarray:
    """Sum of ``pixel_map[..., H, W]`` over each output's K×K window -> [..., Ho, Wo].

    Padding contributes zeros, so border windows only count real pixels.
    """
    rows = _window_sum_axis(pixel_map, -2, kernel, stride, padding, out_hw[0])
    return _window_sum_axis(rows, -1, kernel, stride, padding, out_hw[1])


def _transposed_sum_axis(y: np.ndarray, axis: int, kernel: int, stride: int,
                         padding: int, in_size: int) -> np.ndarray:
    """Along ``axis``: for each input index, sum over outputs whose window covers it.

    Output o covers padded index r + p iff r + p = o*s + j for a tap j < K, so
    the sum is Σ_j of the stride-dilated outputs shifted by j.
    """
    if stride == kernel and padding == 0:  # tiling windows: one parent per input, if any
        return _tile_parents(y, axis, kernel, in_size)
    offset = kernel - 1  # room for the shift j, so every slice starts at >= 0
    total = max(in_size + padding, (y.shape[axis] - 1) * stride + 1) + offset
    dilated = _pad_axis(y, axis, offset, total, stride)
    out = np.zeros_like(dilated[_along(y.ndim, axis, slice(0, in_size))])
    for j in range(kernel):
        first = padding + offset - j
        out += dilated[_along(y.ndim, axis, slice(first, first + in_size))]
    return out


def _tile_parents(y: np.ndarray, axis: int, kernel: int, in_size: int) -> np.ndarray:
    """Each output copied to the K inputs of its tile; inputs past the last tile get 0.

    The copy keeps y's own width (a bool map stays one byte per entry: it is a
    0/1 count), where a widening cast first made every later pass 4-8x larger;
    a zero-padded copy is made only when tiles do not cover the input.
    """
    if y.dtype == np.bool_:
        y = y.view(np.uint8)
    elif y.dtype.itemsize > 4:
        y = y.astype(np.int32)  # counts per window stay far below 2^31
    tiled = np.repeat(y, kernel, axis=axis)
    if tiled.shape[axis] >= in_size:
        return tiled[_along(y.ndim, axis, slice(0, in_size))]
    return _pad_axis(tiled, axis, 0, in_size, dtype=y.dtype)


def transposed_box_sum(position_map: np.ndarray, kernel: int, stride: int, padding: int,
                       in_hw: tuple[int, int]) -> np.ndarray:
    """For each input pixel, the sum of ``position_map[..., Ho, Wo]`` over the output
    positions whose receptive field contains it -> [..., H, W]."""
    rows = _transposed_sum_axis(position_map, -2, kernel, stride, padding, in_hw[0])
    return _transposed_sum_axis(rows, -1, kernel, stride, padding, in_hw[1])


def im2col(x: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Windows of ``x[..., C, H, W]`` -> [..., Ho, Wo, K, K, C] (zero padded, strided view copy)."""
    pad = [(0, 0)] * (x.ndim - 2) + [(padding, padding), (padding, padding)]
    padded = np.pad(x, pad)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(-2, -1))
    windows = windows[..., ::stride, ::stride, :, :]  # [..., C, Ho, Wo, K, K]
    return np.moveaxis(windows, -5, -1)


def fan_in_columns(layer: LayerSpec, x: np.ndarray) -> np.ndarray:
    """Fan-in vectors of every output point of ``x[..., *layer.in_shape]``.

    fc and conv -> [..., P, F] (P = out_positions, F = fan_in, order above);
    avgpool -> [..., C, P, K*K] (each channel pools only itself).
    """
    lead = x.shape[:x.ndim - len(layer.in_shape)]
    if layer.kind == "fc":
        return x.reshape(lead + (1, layer.in_neurons))
    cols = im2col(x, layer.kernel, layer.stride, layer.padding)  # [..., Ho, Wo, K, K, C]
    positions = layer.out_positions
    if layer.kind == "conv":
        return cols.reshape(lead + (positions, layer.fan_in))
    cols = np.moveaxis(cols, -1, -5)  # [..., C, Ho, Wo, K, K]
    return cols.reshape(lead + (layer.in_shape[0], positions, layer.kernel * layer.kernel))


def fan_in_matrix(layer: LayerSpec, weights: np.ndarray) -> np.ndarray:
    """Weights in the usual layout -> [out_channels, fan_in] in the project's fan-in order."""
    if layer.kind == "fc":
        return weights.reshape(layer.out_neurons, layer.in_neurons)
    if layer.kind == "conv":
        return np.transpose(weights, (0, 2, 3, 1)).reshape(layer.out_channels, layer.fan_in)
    raise ValueError(f"layer {layer.name}: {layer.kind} has no weight matrix")


def from_fan_in_matrix(layer: LayerSpec, matrix: np.ndarray) -> np.ndarray:
    """Inverse of ``fan_in_matrix``: [out_channels, fan_in] -> the usual weight layout."""
    if layer.kind == "fc":
        return matrix.reshape(layer.out_neurons, layer.in_neurons)
    if layer.kind == "conv":
        c_in, k = layer.in_shape[0], layer.kernel
        return np.transpose(matrix.reshape(layer.out_channels, k, k, c_in), (0, 3, 1, 2))
    raise ValueError(f"layer {layer.name}: {layer.kind} has no weight matrix")


def positions_last(layer: LayerSpec, y: np.ndarray) -> np.ndarray:
    """Outputs ``y[..., *layer.out_shape]`` -> [..., P, out_channels] (points, channels)."""
    lead = y.shape[:y.ndim - len(layer.out_shape)]
    if layer.kind == "fc":
        return y.reshape(lead + (1, layer.out_neurons))
    flat = y.reshape(lead + (layer.out_channels, layer.out_positions))
    return np.swapaxes(flat, -1, -2)


def positions_first(layer: LayerSpec, points: np.ndarray) -> np.ndarray:
    """Inverse of ``positions_last``: [..., P, out_channels] -> [..., *layer.out_shape]."""
    lead = points.shape[:-2]
    return np.swapaxes(points, -1, -2).reshape(lead + tuple(layer.out_shape))


def tap_span(tap: int, in_size: int, out_size: int, stride: int, padding: int) -> tuple[int, int, int]:
    """Along one axis: (first output, end output, first input) read by window tap ``tap``.

    Output o reads input o*stride - padding + tap; the outputs whose read falls
    inside [0, in_size) are o in [first, end), reading first input, first input
    + stride, ... (the others read padding).
    """
    first = max(0, -(-(padding - tap) // stride))
    end = min(out_size, (in_size - 1 + padding - tap) // stride + 1)
    end = max(first, end)
    return first, end, first * stride - padding + tap


@functools.lru_cache(maxsize=256)
def tap_hits(kernel: int, stride: int, padding: int, in_size: int, out_size: int) -> np.ndarray:
    """int [K, in_size]: 1 where tap j of some output reads input index i (at most one does)."""
    hits = np.zeros((kernel, in_size), dtype=np.int64)
    for tap in range(kernel):
        first, end, start = tap_span(tap, in_size, out_size, stride, padding)
        hits[tap, start:start + (end - first) * stride:stride] = 1
    hits.flags.writeable = False  # shared by every caller through the cache
    return hits
