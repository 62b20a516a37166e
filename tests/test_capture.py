"""Capture from snnTorch and SpikingJelly, and the cross-check of the numpy trainer against both.

Cross-check (issue 12, item 3): the same dyadic weights (multiples of 1/16), binary
inputs, leak 0.5, Vth = 0.51 and a rectangular surrogate of width 1 go through
traces/bptt.py and through each framework. With dyadic weights, leak and an mse
gradient of 2/(B·C·T) = 2^-7, every u, du and dW is exact in float32, and
Vth = 0.51 is no dyadic number, so no u lies within ~1e-4 of the threshold or of
the surrogate's edges (0.01, 1.01): spikes, h and the du zero pattern must agree
exactly (tolerance 0), also for a fixed-point numpy trainer with at least 14
fractional bits. du values are compared after both are stored as float16 (rtol 1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest

from capture_support import need
from traces import bptt
from traces.network import parse_network
from traces.workloads import NeuronConstants

T, B, CLASSES, SIDE = 8, 4, 8, 8
VTH, LEAK = 0.51, 0.5
NEURON = NeuronConstants(vth=VTH, tau=LEAK, surrogate_width=1.0, reset_detached=True)
NETWORK = parse_network(f"4C3-AP2-FC{CLASSES}", (1, SIDE, SIDE), "xcheck")


def dyadic_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"conv1": rng.integers(-6, 12, (4, 1, 3, 3)).astype(np.float32) / 16,
            "fc1": rng.integers(-4, 8, (CLASSES, 4 * 4 * 4)).astype(np.float32) / 16}


def inputs_and_labels(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((T, B, 1, SIDE, SIDE)) < 0.4, rng.integers(0, CLASSES, B)


def numpy_records():
    weights = dyadic_weights()
    spikes, labels = inputs_and_labels()
    state = bptt.forward(NETWORK, weights, spikes, NEURON)
    _, dloss = bptt.loss_and_grad(state.layers[-1].spikes, labels, "mse")
    grads = bptt.backward(NETWORK, weights, state, dloss, NEURON)
    return bptt.layer_records(NETWORK, state, grads, NEURON)


def mse_step(torch, run, labels):
    onehot = torch.nn.functional.one_hot(torch.as_tensor(labels), CLASSES).float()

    def step(spikes):
        out = run(spikes)
        loss = ((out.mean(0) - onehot) ** 2).mean()
        loss.backward()
        return loss
    return step


def snntorch_model(torch, snn, weights=None):
    from snntorch import surrogate

    rect = surrogate.custom_surrogate(lambda u, grad, spk: grad * (u.abs() < 0.5).float())

    def lif():
        return snn.Leaky(beta=LEAK, threshold=VTH, reset_mechanism="zero", init_hidden=True,
                         spike_grad=rect)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1, bias=False), lif(),
                              torch.nn.AvgPool2d(2), lif(), torch.nn.Flatten(),
                              torch.nn.Linear(64, CLASSES, bias=False), lif())
    if weights is not None:
        with torch.no_grad():
            net[0].weight.copy_(torch.as_tensor(weights["conv1"]))
            net[5].weight.copy_(torch.as_tensor(weights["fc1"]))

    def run(spikes):
        for module in net:
            if isinstance(module, snn.Leaky):
                module.reset_mem()
        return torch.stack([net(x) for x in spikes])
    return net, run


def spikingjelly_model(torch, weights=None):
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    def lif():
        return neuron.LIFNode(tau=1 / (1 - LEAK), decay_input=False, v_threshold=VTH, v_reset=0.0,
                              detach_reset=True, step_mode="m",
                              surrogate_function=surrogate.PiecewiseLeakyReLU(w=0.5, c=0.0))
    net = torch.nn.Sequential(layer.Conv2d(1, 4, 3, padding=1, bias=False, step_mode="m"), lif(),
                              layer.AvgPool2d(2, step_mode="m"), lif(),
                              layer.Flatten(step_mode="m"),
                              layer.Linear(64, CLASSES, bias=False, step_mode="m"), lif())
    if weights is not None:
        with torch.no_grad():
            net[0].weight.copy_(torch.as_tensor(weights["conv1"]))
            net[5].weight.copy_(torch.as_tensor(weights["fc1"]))

    def run(spikes):
        functional.reset_net(net)
        return net(spikes)
    return net, run


def framework_records(framework: str):
    torch = need("torch")
    from traces.capture import capture_step

    if framework == "snntorch":
        net, run = snntorch_model(torch, need("snntorch"), dyadic_weights())
    else:
        need("spikingjelly")
        net, run = spikingjelly_model(torch, dyadic_weights())
    spikes, labels = inputs_and_labels()
    x = torch.as_tensor(spikes, dtype=torch.float32)
    return capture_step(net, x, mse_step(torch, run, labels), name="xcheck")


@pytest.mark.parametrize("framework", ["snntorch", "spikingjelly"])
def test_numpy_trainer_and_framework_agree(framework):
    ours = numpy_records()
    captured = framework_records(framework)
    assert [layer.kind for layer in captured.network.layers] == ["conv", "avgpool", "fc"]
    for spec, (name, theirs) in zip(NETWORK.layers, captured.layers.items()):
        mine = ours[spec.name]
        assert mine.output_spikes.any() and mine.h_mask.any() and mine.du_nonzero.any(), spec.name
        for tensor in ("input_spikes", "output_spikes", "h_mask", "du_nonzero"):
            a = getattr(mine, tensor).reshape(T, B, -1)
            b = getattr(theirs, tensor).reshape(T, B, -1)
            assert np.array_equal(a, b), f"{framework} {name} {tensor}: {int((a != b).sum())} differ"
        np.testing.assert_allclose(theirs.du_values.astype(np.float32).reshape(T, B, -1),
                                   mine.du_values.astype(np.float32).reshape(T, B, -1), rtol=1e-3)
    assert captured.neuron.vth == pytest.approx(VTH) and captured.neuron.tau == LEAK
    assert captured.neuron.surrogate_width == pytest.approx(1.0, abs=1e-3)


def test_captured_network_exports_to_nir_and_back(tmp_path):
    nir = need("nir")
    from traces.nirgraph import nir_network

    captured = framework_records("snntorch")
    path = tmp_path / "captured.nir"
    nir.write(path, captured.to_nir())
    graph = nir.read(path, type_check=False)
    network, neuron = nir_network(graph, "xcheck")
    assert network.layers == tuple(l.__class__(**{**l.__dict__, "name": n.name})
                                   for l, n in zip(captured.network.layers, network.layers))
    assert neuron.tau == pytest.approx(LEAK) and neuron.vth == pytest.approx(VTH)
    np.testing.assert_array_equal(graph.nodes["fc5"].weight, captured.weights["fc5"])


def test_capture_writes_a_trace_that_checks_and_runs(tmp_path):
    from traces.validate import validate_trace

    captured = framework_records("spikingjelly")
    out = tmp_path / "sj.h5"
    captured.write(out, dataset="random spikes")
    summary = validate_trace(out)
    assert summary.has_du_values and summary.timesteps == T and summary.batch == B
    assert "spikingjelly" in captured.header().producer


def test_unmappable_layer_is_one_error_naming_it():
    torch = need("torch")
    snn = need("snntorch")
    from traces.capture import CaptureError, capture_step

    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(),
                              snn.Leaky(beta=0.5, reset_mechanism="zero", init_hidden=True))
    with pytest.raises(CaptureError, match=r"layer 1 \(torch.nn.modules.activation.ReLU\)"):
        capture_step(net, torch.zeros(2, 1, 4), lambda x: None)


def test_subtract_reset_is_refused():
    torch = need("torch")
    snn = need("snntorch")
    from traces.capture import CaptureError, capture_step

    net = torch.nn.Sequential(torch.nn.Linear(4, 4), snn.Leaky(beta=0.5, init_hidden=True))
    with pytest.raises(CaptureError, match="reset_mechanism 'subtract'"):
        capture_step(net, torch.zeros(2, 1, 4), lambda x: None)


def test_spikingjelly_single_step_loop_matches_multi_step():
    torch = need("torch")
    need("spikingjelly")
    from spikingjelly.activation_based import functional
    from traces.capture import capture_step

    multi = framework_records("spikingjelly")
    net, _ = spikingjelly_model(torch, dyadic_weights())
    functional.set_step_mode(net, "s")

    def run(spikes):
        functional.reset_net(net)
        return torch.stack([net(x) for x in spikes])
    spikes, labels = inputs_and_labels()
    single = capture_step(net, torch.as_tensor(spikes, dtype=torch.float32),
                          mse_step(torch, run, labels), name="xcheck")
    for name, rec in multi.layers.items():
        for tensor in ("output_spikes", "h_mask", "du_nonzero"):
            assert np.array_equal(getattr(rec, tensor), getattr(single.layers[name], tensor))


def test_max_pooling_is_captured_as_the_pooling_layer():
    torch = need("torch")
    snn = need("snntorch")
    from traces.capture import capture_step

    def lif():
        return snn.Leaky(beta=0.5, threshold=0.2, reset_mechanism="zero", init_hidden=True)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), lif(), torch.nn.MaxPool2d(2),
                              lif(), torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3), lif())

    def step(spikes):
        out = torch.stack([net(x) for x in spikes])
        out.sum().backward()
        return None
    captured = capture_step(net, (torch.rand(3, 2, 1, 8, 8) < 0.5).float(), step)
    assert [(l.kind, l.out_shape) for l in captured.network.layers] == [
        ("conv", (2, 8, 8)), ("avgpool", (2, 4, 4)), ("fc", (3,))]
    assert captured.loss is None
