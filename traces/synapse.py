"""The synaptic operators of BPTT: x = W·o_in, do_in = Wᵀ·du and dW = Σ du ⊗ o_in.

Layers: fc (flattens its input in C-order), conv (any kernel/stride/padding;
im2col through numpy stride tricks) and spiking average pooling (fixed
weights 1/K², zero padding counted, nothing trainable). Inputs hold N = T·B
points on their leading axis.

Every sum is taken in float64, over the points in blocks of about
``BLOCK_ELEMENTS`` im2col entries (memory stays flat at any batch), and the
blocks are added in a fixed order. On fixed-point operands
(``traces/fixedpoint.py``) each sum is therefore exact, whatever BLAS kernel
or thread count computes it; on arbitrary floats (the gradient checks) the
operators are ordinary float64 linear algebra.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from traces.network import LayerSpec

BLOCK_ELEMENTS = 1 << 21     # im2col entries per block: 16 MiB of float64


def _windows(x: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Strided view of padded x [N, C, H, W] -> [N, C, OH, OW, K, K] (no copy)."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    view = np.lib.stride_tricks.sliding_window_view(xp, (kernel, kernel), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def _col2im(cols: np.ndarray, in_shape: tuple[int, ...], spec: LayerSpec) -> np.ndarray:
    """Scatter-add window gradients [N, C, OH, OW, K, K] back to inputs [N, C, H, W]."""
    k, s, p = spec.kernel, spec.stride, spec.padding
    n, c, oh, ow = cols.shape[:4]
    grad = np.zeros((n, c, in_shape[1] + 2 * p, in_shape[2] + 2 * p), dtype=cols.dtype)
    for ki in range(k):           # a fixed order of additions: the same result everywhere
        for kj in range(k):
            grad[:, :, ki:ki + s * (oh - 1) + 1:s, kj:kj + s * (ow - 1) + 1:s] += cols[..., ki, kj]
    return grad[:, :, p:p + in_shape[1], p:p + in_shape[2]]


def _conv_cols(inputs: np.ndarray, spec: LayerSpec) -> np.ndarray:
    """im2col: [N, C, H, W] -> float64 [N*OH*OW, C*K*K], rows in (n, oh, ow) order."""
    win = _windows(inputs, spec.kernel, spec.stride, spec.padding)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(-1, spec.fan_in).astype(np.float64)


def _blocks(points: int, spec: LayerSpec) -> Iterator[slice]:
    """Slices of the point axis, each with about BLOCK_ELEMENTS im2col entries."""
    if spec.kind == "fc":
        per_point = spec.in_neurons + spec.out_neurons
    elif spec.kind == "conv":
        per_point = spec.fan_in * int(np.prod(spec.out_shape[1:]))
    else:
        per_point = spec.out_neurons * spec.kernel * spec.kernel
    step = max(1, BLOCK_ELEMENTS // max(1, per_point))
    for start in range(0, points, step):
        yield slice(start, min(points, start + step))


def synaptic_input(spec: LayerSpec, weight: np.ndarray | None, inputs: np.ndarray,
                   dtype: type = np.float64) -> np.ndarray:
    """x = W · o_in: inputs [N, *in_shape] -> [N, *out_shape] in ``dtype``."""
    n = inputs.shape[0]
    out = np.empty((n,) + spec.out_shape, dtype=dtype)
    if spec.kind == "fc":
        w = weight.T.astype(np.float64)
        for rows in _blocks(n, spec):
            out[rows] = inputs[rows].reshape(rows.stop - rows.start, -1).astype(np.float64) @ w
        return out
    if spec.kind == "avgpool":
        for rows in _blocks(n, spec):
            win = _windows(inputs[rows].astype(np.float64), spec.kernel, spec.stride, spec.padding)
            out[rows] = win.sum(axis=(-2, -1)) / (spec.kernel * spec.kernel)
        return out
    oc, oh, ow = spec.out_shape
    w = weight.reshape(oc, -1).T.astype(np.float64)
    for rows in _blocks(n, spec):
        x = _conv_cols(inputs[rows], spec) @ w
        out[rows] = x.reshape(-1, oh, ow, oc).transpose(0, 3, 1, 2)
    return out


def input_gradient(spec: LayerSpec, weight: np.ndarray | None, du: np.ndarray,
                   dtype: type = np.float64) -> np.ndarray:
    """do_in = Wᵀ · du: du [N, *out_shape] -> [N, *in_shape] in ``dtype``."""
    n = du.shape[0]
    out = np.empty((n,) + spec.in_shape, dtype=dtype)
    if spec.kind == "fc":
        w = weight.astype(np.float64)
        for rows in _blocks(n, spec):
            out[rows] = (du[rows].astype(np.float64) @ w).reshape((-1,) + spec.in_shape)
        return out
    c, oh, ow = spec.out_shape
    k = spec.kernel
    w = None if weight is None else weight.reshape(c, -1).astype(np.float64)
    for rows in _blocks(n, spec):
        block = du[rows].astype(np.float64)
        if spec.kind == "avgpool":
            share = block / (k * k)
            cols = np.broadcast_to(share[..., None, None], share.shape + (k, k))
        else:
            mat = block.transpose(0, 2, 3, 1).reshape(-1, c) @ w
            cols = mat.reshape(-1, oh, ow, spec.in_shape[0], k, k).transpose(0, 3, 1, 2, 4, 5)
        out[rows] = _col2im(cols, spec.in_shape, spec)
    return out


def weight_gradient(spec: LayerSpec, inputs: np.ndarray, du: np.ndarray) -> np.ndarray | None:
    """dW = Σ_points du ⊗ o_in in float64 (None for pooling, which has no weights)."""
    if spec.kind == "avgpool":
        return None
    n = inputs.shape[0]
    oc = spec.out_shape[0]
    grad = np.zeros((oc, spec.fan_in))
    for rows in _blocks(n, spec):   # block partial sums added in order: exact on the grid
        if spec.kind == "fc":
            grad += du[rows].astype(np.float64).T @ inputs[rows].reshape(
                rows.stop - rows.start, -1).astype(np.float64)
        else:
            du_mat = du[rows].transpose(0, 2, 3, 1).reshape(-1, oc).astype(np.float64)
            grad += du_mat.T @ _conv_cols(inputs[rows], spec)
    if spec.kind == "fc":
        return grad
    return grad.reshape(oc, spec.in_shape[0], spec.kernel, spec.kernel)
