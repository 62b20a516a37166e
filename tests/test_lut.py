"""The LUT functional model equals the dense computation (DESIGN §4, §7.1).

Dense references here are written independently of tlm.functional (explicit
padding and per-tap einsums, no im2col), so a wrong fan-in order, grouping,
padding or stride in the LUT model shows up as a mismatch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.functional import lut_forward, lut_weight_grad, subset_sum_tables
from traces.network import LayerSpec, conv_out_size


def conv_layer(c_in: int, c_out: int, size: int, kernel: int, stride: int,
               padding: int) -> LayerSpec:
    out = conv_out_size(size, kernel, stride, padding)
    return LayerSpec("conv", "conv", (c_in, size, size), (c_out, out, out), kernel, stride, padding)


def fc_layer(n_in: int, n_out: int) -> LayerSpec:
    return LayerSpec("fc", "fc", (n_in,), (n_out,))


def pool_layer(channels: int, size: int, kernel: int) -> LayerSpec:
    out = conv_out_size(size, kernel, kernel, 0)
    return LayerSpec("pool", "avgpool", (channels, size, size), (channels, out, out), kernel, kernel)


def tap_views(layer: LayerSpec, x: np.ndarray):
    """Yield (kh, kw, view[..., C, Ho, Wo]) of the padded input seen by tap (kh, kw)."""
    p, s = layer.padding, layer.stride
    pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
    padded = np.pad(x.astype(float), pad)
    ho, wo = layer.out_shape[1:]
    for kh in range(layer.kernel):
        for kw in range(layer.kernel):
            yield kh, kw, padded[..., kh:kh + s * (ho - 1) + 1:s, kw:kw + s * (wo - 1) + 1:s]


def dense_forward(weights: np.ndarray | None, spikes: np.ndarray, layer: LayerSpec) -> np.ndarray:
    if layer.kind == "fc":
        return spikes.astype(float) @ weights.T
    out = np.zeros(spikes.shape[:-3] + tuple(layer.out_shape))
    for kh, kw, view in tap_views(layer, spikes):
        if layer.kind == "conv":
            out += np.einsum("oc,...chw->...ohw", weights[:, :, kh, kw], view)
        else:
            out += view / layer.kernel ** 2
    return out


def dense_weight_grad(du: np.ndarray, spikes: np.ndarray, layer: LayerSpec) -> np.ndarray:
    if layer.kind == "fc":
        return np.einsum("tbo,tbi->oi", du, spikes.astype(float))
    grad = np.zeros((layer.out_channels, layer.in_shape[0], layer.kernel, layer.kernel))
    for kh, kw, view in tap_views(layer, spikes):
        grad[:, :, kh, kw] = np.einsum("tbohw,tbchw->oc", du, view)
    return grad


def random_case(layer: LayerSpec, steps: int, batch: int, seed: int, rate: float = 0.3):
    rng = np.random.default_rng(seed)
    spikes = rng.random((steps, batch) + layer.in_shape) < rate
    if layer.kind == "fc":
        weights = rng.integers(-8, 9, (layer.out_neurons, layer.in_neurons)).astype(float)
    elif layer.kind == "conv":
        weights = rng.integers(-8, 9, (layer.out_channels, layer.in_shape[0],
                                       layer.kernel, layer.kernel)).astype(float)
    else:
        weights = None
    du = rng.integers(-4, 5, (steps, batch) + layer.out_shape).astype(float)
    du *= rng.random(du.shape) < 0.4  # gradient sparsity, including all-zero groups
    return spikes, weights, du


LAYERS = [
    fc_layer(13, 5),
    conv_layer(5, 3, 6, 3, 1, 1),    # fan-in 45: k = 2, 4 do not divide it
    conv_layer(4, 2, 7, 3, 2, 1),    # stride 2 with padding
    conv_layer(3, 4, 8, 2, 2, 0),    # stride 2, no padding
    conv_layer(2, 3, 5, 3, 1, 0),
]
KS = [1, 2, 3, 4, 5]


def test_subset_sum_table_entries_are_subset_sums() -> None:
    values = np.array([3.0, -1.0, 10.0, 0.5])
    table = subset_sum_tables(values)
    assert table.shape == (16,)
    for address in range(16):
        expected = sum(values[j] for j in range(4) if address >> j & 1)
        assert table[address] == expected


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: f"{l.kind}{l.in_shape}s{l.stride}")
@pytest.mark.parametrize("k", KS)
def test_lut_forward_equals_dense_exactly(layer: LayerSpec, k: int) -> None:
    spikes, weights, _ = random_case(layer, 3, 2, seed=k)
    # integer-valued weights: every partial sum is exact, so equality is exact
    np.testing.assert_array_equal(lut_forward(weights, spikes, layer, k),
                                  dense_forward(weights, spikes, layer))


def test_lut_forward_float_weights_to_rounding() -> None:
    layer = conv_layer(6, 4, 6, 3, 1, 1)
    rng = np.random.default_rng(1)
    spikes = rng.random((2, 3) + layer.in_shape) < 0.4
    weights = rng.normal(size=(4, 6, 3, 3))
    np.testing.assert_allclose(lut_forward(weights, spikes, layer, 4),
                               dense_forward(weights, spikes, layer), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
def test_lut_forward_avgpool_fixed_weights(k: int) -> None:
    layer = pool_layer(3, 5, 2)   # 5x5 -> 2x2: the last row/column is cropped
    spikes, _, _ = random_case(layer, 2, 2, seed=3, rate=0.5)
    np.testing.assert_allclose(lut_forward(None, spikes, layer, k),
                               dense_forward(None, spikes, layer), rtol=0, atol=1e-15)


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: f"{l.kind}{l.in_shape}s{l.stride}")
@pytest.mark.parametrize("k", KS)
def test_lut_weight_grad_equals_dense_exactly(layer: LayerSpec, k: int) -> None:
    spikes, _, du = random_case(layer, 5, 2, seed=10 + k)  # T = 5: k = 2, 3, 4 leave a short group
    expected = dense_weight_grad(du, spikes, layer)
    for skip in (True, False):  # skipping must not change the result
        np.testing.assert_array_equal(lut_weight_grad(du, spikes, layer, k, skip_zero=skip),
                                      expected)


def test_lut_weight_grad_all_zero_du_gives_zero() -> None:
    layer = conv_layer(3, 2, 5, 3, 1, 1)
    spikes, _, du = random_case(layer, 4, 2, seed=0)
    grad = lut_weight_grad(np.zeros_like(du), spikes, layer, 4)
    assert grad.shape == (2, 3, 3, 3) and not grad.any()


def test_lut_weight_grad_rejects_pooling() -> None:
    layer = pool_layer(2, 4, 2)
    with pytest.raises(ValueError, match="no trainable weights"):
        lut_weight_grad(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 4, 4), bool), layer, 2)


@st.composite
def conv_cases(draw):
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel - 1))
    size = draw(st.integers(kernel, 6))
    layer = conv_layer(draw(st.integers(1, 4)), draw(st.integers(1, 3)), size,
                       kernel, stride, padding)
    return layer, draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(0, 1000))


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_lut_matches_dense_on_random_conv_geometry(case) -> None:
    layer, k, steps, seed = case
    spikes, weights, du = random_case(layer, steps, 2, seed)
    np.testing.assert_array_equal(lut_forward(weights, spikes, layer, k),
                                  dense_forward(weights, spikes, layer))
    np.testing.assert_array_equal(lut_weight_grad(du, spikes, layer, k),
                                  dense_weight_grad(du, spikes, layer))
