"""Tests of the reference BPTT trainer (the golden model) and the generated dataset."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traces.datasets import encode_batch, image_size, make_images
from traces.network import LayerSpec, parse_network
from traces.bptt import (
    accuracy, backward, float16_du, forward, init_weights, input_gradient, linear_spike,
    loss_and_grad, surrogate_mask, synaptic_input, weight_gradient,
)
from traces.trainer import TrainerConfig, TrainingRun, train
from traces.workloads import WORKLOADS, NeuronConstants

# ------------------------------------------------------------------ dataset


def test_images_are_deterministic_float32_in_unit_range():
    a, la = make_images(40, 12, 10, seed=3)
    b, lb = make_images(40, 12, 10, seed=3)
    c, _ = make_images(40, 12, 10, seed=4)
    assert a.dtype == np.float32 and a.shape == (40, 12, 10) and lb.dtype == np.int64
    assert np.array_equal(a, b) and np.array_equal(la, lb) and not np.array_equal(a, c)
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert set(la) <= set(range(10))


def test_glyph_classes_are_separable():
    images, labels = make_images(400, 16, 16, seed=0)
    means = np.stack([images[labels == k].mean(0) for k in range(10)])
    nearest = np.abs(images[:, None] - means[None]).mean((2, 3)).argmin(1)
    assert (nearest == labels).mean() > 0.5  # a nearest-mean classifier beats chance


def test_rate_coding_follows_intensity():
    workload = WORKLOADS["tiny-cnn"]
    images, _ = make_images(8, 12, 12, seed=1)
    spikes = encode_batch(workload, images, 400, np.random.default_rng(0))
    assert spikes.dtype == bool and spikes.shape == (400, 8, 1, 12, 12)
    assert np.abs(spikes.mean(0)[:, 0] - images).max() < 0.12


def test_mlp_input_is_the_flattened_image():
    workload = WORKLOADS["tiny-mlp"]
    assert image_size(workload.input_shape, "rate") == (12, 12)
    images, _ = make_images(4, 12, 12, seed=1)
    spikes = encode_batch(workload, images, 3, np.random.default_rng(0))
    assert spikes.shape == (3, 4, 144)


def test_event_coding_has_on_off_channels_at_moving_edges():
    workload = WORKLOADS["nmnist-cnn"]
    images, _ = make_images(6, 34, 34, seed=2)
    spikes = encode_batch(workload, images, 20, np.random.default_rng(0))
    assert spikes.dtype == bool and spikes.shape == (20, 6, 2, 34, 34)
    on, off = spikes[:, :, 0].mean(), spikes[:, :, 1].mean()
    assert 0.005 < on < 0.3 and 0.005 < off < 0.3
    ink = images > 0.5
    near_ink = np.zeros_like(ink)
    for dy in range(-4, 5):
        for dx in range(-4, 5):
            near_ink |= np.roll(ink, (dy, dx), axis=(1, 2))
    rate_near = spikes.any(2).mean(0)[near_ink].mean()
    rate_far = spikes.any(2).mean(0)[~near_ink].mean()
    assert rate_near > 5 * rate_far  # events come from the moving digit, noise is sparse


# ------------------------------------------------------------------ operators


def _naive_conv(x: np.ndarray, w: np.ndarray, stride: int, padding: int) -> np.ndarray:
    n, c, h, wd = x.shape
    oc, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, oc, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 2),
       size=st.integers(4, 8), seed=st.integers(0, 1000))
def test_conv_operators_match_naive_loops(k, stride, padding, size, seed):
    rng = np.random.default_rng(seed)
    oh = (size + 2 * padding - k) // stride + 1
    spec = LayerSpec("c", "conv", (2, size, size), (3, oh, oh), k, stride, padding)
    x = (rng.random((2, 2, size, size)) < 0.4).astype(np.float64)
    w = rng.normal(size=(3, 2, k, k))
    assert np.allclose(synaptic_input(spec, w, x), _naive_conv(x, w, stride, padding))
    # adjoint identities: <W x, g> = <x, W^T g> and dW = d<W x, g>/dW
    g = rng.normal(size=(2,) + spec.out_shape)
    assert np.isclose((synaptic_input(spec, w, x) * g).sum(),
                      (x * input_gradient(spec, w, g)).sum())
    basis = np.zeros_like(w)
    basis[1, 0, k - 1, 0] = 1.0
    assert np.isclose((_naive_conv(x, basis, stride, padding) * g).sum(),
                      weight_gradient(spec, x, g)[1, 0, k - 1, 0])


def test_avgpool_is_a_fixed_mean_and_its_adjoint():
    spec = parse_network("AP2", (2, 5, 5)).layers[0]
    rng = np.random.default_rng(0)
    x = rng.random((3, 2, 5, 5))
    pooled = synaptic_input(spec, None, x)
    assert pooled.shape == (3, 2, 2, 2)
    assert np.isclose(pooled[1, 1, 1, 0], x[1, 1, 2:4, 0:2].mean())
    g = rng.normal(size=pooled.shape)
    assert np.isclose((pooled * g).sum(), (x * input_gradient(spec, None, g)).sum())
    assert weight_gradient(spec, x, g) is None


def test_float16_du_keeps_the_sparsity_pattern():
    du = np.array([0.0, 1e-9, -1e-9, 3e-3, -7e5, 0.0], dtype=np.float32)
    half = float16_du(du)
    assert half.dtype == np.float16
    assert np.array_equal(half != 0, du != 0)
    assert np.array_equal(np.sign(half), np.sign(du)) and np.isfinite(half).all()


# ------------------------------------------------------------------ gradients

GRAD_NET = parse_network("3C3-AP2-4C3S2P1-FC3", (2, 7, 7), "grad-check")
# Kinks of the piecewise-linear spike sit at u = Vth ± a/2; these constants keep them
# off the values that saturated spikes produce exactly (0, 1, pooled quarters, ...).
GRAD_NEURON = NeuronConstants(vth=0.45, tau=0.3, surrogate_width=0.83)


def _grad_problem(seed: int):
    rng = np.random.default_rng(seed)
    weights = {k: v * 1.5 for k, v in init_weights(GRAD_NET, GRAD_NEURON, rng, np.float64).items()}
    spikes = rng.random((4, 2) + GRAD_NET.input_shape) < 0.5
    labels = np.array([0, 2])
    return weights, spikes, labels


def _loss(weights, spikes, labels, reset_spikes=None, kind="mse") -> float:
    state = forward(GRAD_NET, weights, spikes, GRAD_NEURON, spike_fn=linear_spike,
                    reset_spikes=reset_spikes, fixed=None)
    return loss_and_grad(state.layers[-1].spikes, labels, kind)[0]


def _finite_differences(weights, spikes, labels, reset_spikes, kind, eps=1e-6):
    grads = {}
    for name, w in weights.items():
        grad = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            plus, minus = dict(weights), dict(weights)
            plus[name], minus[name] = w.copy(), w.copy()
            plus[name][idx] += eps
            minus[name][idx] -= eps
            grad[idx] = (_loss(plus, spikes, labels, reset_spikes, kind)
                         - _loss(minus, spikes, labels, reset_spikes, kind)) / (2 * eps)
        grads[name] = grad
    return grads


@pytest.mark.parametrize("detached", [True, False])
@pytest.mark.parametrize("kind", ["mse", "ce"])
def test_bptt_gradients_match_finite_differences(detached, kind):
    weights, spikes, labels = _grad_problem(seed=5)
    state = forward(GRAD_NET, weights, spikes, GRAD_NEURON, spike_fn=linear_spike, fixed=None)
    for layer in state.layers:  # stay clear of the piecewise-linear kinks at |u - Vth| = a/2
        gap = np.abs(np.abs(layer.membrane - GRAD_NEURON.vth) - GRAD_NEURON.surrogate_width / 2)
        assert gap.min() > 1e-4
        assert 0.05 < surrogate_mask(layer.membrane, GRAD_NEURON).mean() < 0.95
    _, dloss = loss_and_grad(state.layers[-1].spikes, labels, kind)
    grads = backward(GRAD_NET, weights, state, dloss, GRAD_NEURON, reset_detached=detached,
                     fixed=None)
    pinned = [layer.spikes for layer in state.layers] if detached else None
    numeric = _finite_differences(weights, spikes, labels, pinned, kind)
    for name, g in grads.weights.items():
        assert np.abs(g).max() > 1e-4, name  # a vanishing gradient would pass trivially
        assert np.allclose(g, numeric[name], rtol=1e-5, atol=1e-8 * np.abs(g).max()), name


def test_detaching_the_reset_changes_the_gradient():
    weights, spikes, labels = _grad_problem(seed=5)
    state = forward(GRAD_NET, weights, spikes, GRAD_NEURON, spike_fn=linear_spike, fixed=None)
    _, dloss = loss_and_grad(state.layers[-1].spikes, labels, "mse")
    kept = backward(GRAD_NET, weights, state, dloss, GRAD_NEURON, reset_detached=False, fixed=None)
    cut = backward(GRAD_NET, weights, state, dloss, GRAD_NEURON, reset_detached=True, fixed=None)
    assert not np.allclose(kept.weights["conv1"], cut.weights["conv1"])


# ------------------------------------------------------------------ training


def test_training_tiny_cnn_learns_well_above_chance():
    run = train(WORKLOADS["tiny-cnn"], batch=16, iterations=200, lr=0.5, seed=0)
    assert list(run) == []  # nothing asked to be recorded
    loss = np.array([h.loss for h in run.history])
    acc = np.array([h.accuracy for h in run.history])
    assert len(run.history) == 200
    assert loss[-25:].mean() < 0.6 * loss[:25].mean()
    assert acc[-25:].mean() > 0.6
    held_out, labels = make_images(256, 12, 12, seed=99)
    assert run.evaluate(held_out, labels) > 0.5


def test_progress_callback_sees_every_iteration():
    seen = []
    list(train(WORKLOADS["tiny-mlp"], iterations=4, progress=lambda i, l, a: seen.append(i)))
    assert seen == [0, 1, 2, 3]


def _recorded(workload_name: str, seed: int, **kwargs):
    workload = WORKLOADS[workload_name]
    return list(train(workload, iterations=3, record=[0, 2], seed=seed, **kwargs))


def test_records_have_trace_shapes_and_chain_between_layers():
    batch, steps = 4, 6
    records = _recorded("mnist-cnn", 0, batch=batch, timesteps=steps)
    assert [r.iteration for r in records] == [0, 2]
    network = WORKLOADS["mnist-cnn"].network
    layers = records[-1].layers
    assert list(layers) == [spec.name for spec in network.layers]
    previous = None
    for spec in network.layers:
        rec = layers[spec.name]
        assert rec.input_spikes.shape == (steps, batch) + spec.in_shape
        for tensor in (rec.output_spikes, rec.h_mask, rec.du_nonzero, rec.du_values):
            assert tensor.shape == (steps, batch) + spec.out_shape
        assert rec.input_spikes.dtype == rec.output_spikes.dtype == rec.h_mask.dtype == bool
        assert rec.du_values.dtype == np.float16
        assert np.array_equal(rec.du_nonzero, rec.du_values != 0)
        assert rec.output_spikes.any() and rec.du_nonzero.any()  # spikes reach every layer
        if previous is not None:
            assert np.array_equal(rec.input_spikes, previous.reshape(rec.input_spikes.shape))
        previous = rec.output_spikes


def test_records_match_a_recomputed_forward_and_backward():
    workload = WORKLOADS["tiny-cnn"]
    run = TrainingRun(workload, TrainerConfig(batch=6, timesteps=5), iterations=3, record=[1])
    run.step(0)
    weights = {k: v.copy() for k, v in run.weights.items()}
    recorded = run.step(1)
    network, neuron = workload.network, workload.neuron
    first = recorded.layers[network.layers[0].name]
    state = forward(network, weights, first.input_spikes, neuron)
    loss, dloss = loss_and_grad(state.layers[-1].spikes, recorded.labels, "mse")
    grads = backward(network, weights, state, dloss, neuron)
    assert np.isclose(loss, recorded.loss)
    assert accuracy(state.layers[-1].spikes, recorded.labels) == recorded.accuracy
    for spec, layer, du in zip(network.layers, state.layers, grads.membrane):
        rec = recorded.layers[spec.name]
        assert np.array_equal(rec.output_spikes, layer.spikes.astype(bool))
        assert np.array_equal(rec.h_mask, np.abs(layer.membrane - neuron.vth) < neuron.surrogate_width / 2)
        assert np.allclose(rec.du_values.astype(np.float32), du, rtol=1e-2, atol=1e-7)


def test_same_seed_gives_identical_records_and_another_seed_does_not():
    a, b = _recorded("tiny-cnn", 7), _recorded("tiny-cnn", 7)
    c = _recorded("tiny-cnn", 8)
    for ra, rb, rc in zip(a, b, c):
        assert ra.loss == rb.loss and ra.accuracy == rb.accuracy
        for name, la in ra.layers.items():
            for field in dataclasses.fields(la):
                assert np.array_equal(getattr(la, field.name), getattr(rb.layers[name], field.name))
        assert not np.array_equal(ra.layers["conv1"].input_spikes, rc.layers["conv1"].input_spikes)


def test_event_workload_trains_without_errors():
    records = _recorded("nmnist-cnn", 0, batch=2, timesteps=4)
    assert records[0].layers["conv1"].input_spikes.shape == (4, 2, 2, 34, 34)


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="loss"):
        train(WORKLOADS["tiny-mlp"], iterations=1, loss="hinge")
    with pytest.raises(ValueError, match="batch"):
        TrainerConfig(batch=0, timesteps=4)
