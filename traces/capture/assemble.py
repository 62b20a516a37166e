"""From hooked tensors to the schema's records: u, h, du and the network description.

u is rebuilt from the recorded input X and the framework's own spikes with the
layer's constants (traces/capture/neurons.py): u[t] = leak·u[t-1]·(1-o[t-1]) +
scale·X[t]. Because the spikes are the framework's, a neuron that does not
follow this recursion shows up as u > Vth disagreeing with a recorded spike
away from the threshold, which is one CaptureError rather than a wrong trace.
h is where the framework's own surrogate gradient of (u - Vth) is non-zero;
du = dL/du = dL/dX / scale.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from traces.bptt import float16_du
from traces.capture.errors import CaptureError
from traces.capture.graph import PlannedLayer
from traces.capture.neurons import NeuronModel
from traces.network import LayerSpec, Network, NetworkError, check_network
from traces.record import LayerRecord

# |u - Vth| below this (relative to max(1, Vth)) is "at the threshold": float32 rounding
# in the framework's own order of operations may put a spike either way there.
THRESHOLD_TOLERANCE = 1e-4
# The surrogate's support is probed on ±PROBE_RANGE·max(1, Vth) with this many points.
PROBE_RANGE, PROBE_POINTS = 4.0, 80001


def membrane(x: Any, spikes: Any, neuron: NeuronModel) -> Any:
    """u [T, B, ...] (float64) of the schema's LIF driven by x, reset by the recorded spikes."""
    import torch

    x64 = x.to(torch.float64) * neuron.input_scale
    o64 = spikes.to(torch.float64)
    u = torch.empty_like(x64)
    prev = torch.zeros_like(x64[0])
    for t in range(x64.shape[0]):
        reset = 1.0 - o64[t - 1] if t > 0 else 1.0
        u[t] = neuron.leak * prev * reset + x64[t]
        prev = u[t]
    return u


def surrogate_mask(u: Any, neuron: NeuronModel) -> Any:
    """h: where the framework's surrogate gradient of (u - Vth) is non-zero (bool tensor)."""
    import torch

    shifted = (u - neuron.vth).to(torch.float32).detach().requires_grad_(True)
    with torch.enable_grad():
        neuron.surrogate(shifted).sum().backward()
    return shifted.grad != 0


def surrogate_width(neuron: NeuronModel) -> float:
    """Width of the surrogate's support around Vth (the probed range when it never vanishes)."""
    import torch

    span = PROBE_RANGE * max(1.0, neuron.vth)
    grid = torch.linspace(-span, span, PROBE_POINTS, dtype=torch.float64) + neuron.vth
    inside = surrogate_mask(grid, neuron)
    return float(inside.sum()) * (2 * span / (PROBE_POINTS - 1))


def check_spikes(name: str, u: Any, spikes: Any, neuron: NeuronModel) -> None:
    """Refuse a layer whose recorded spikes are not the schema's LIF spikes of u."""
    disagree = (u > neuron.vth) != (spikes > 0.5)
    far = (u - neuron.vth).abs() > THRESHOLD_TOLERANCE * max(1.0, abs(neuron.vth))
    bad = int((disagree & far).sum())
    if bad:
        raise CaptureError(f"layer {name}: {bad} recorded spikes differ from the hard-reset LIF "
                           "u > Vth away from the threshold; the neuron is not the H2Learn one")


def binary(name: str, spikes: Any) -> np.ndarray:
    """A tensor of 0/1 values as a bool array (anything else is one error)."""
    values = spikes.detach().cpu().numpy()
    if not np.isin(values, (0, 1)).all():
        raise CaptureError(f"{name}: expected binary spikes (0 or 1), found other values")
    return values.astype(bool)


def layer_spec(layer: PlannedLayer, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> LayerSpec:
    flat_in = (math.prod(in_shape),) if layer.kind == "fc" else in_shape
    return LayerSpec(layer.name, layer.kind, flat_in, out_shape, layer.kernel, layer.stride,
                     layer.padding)


def build_network(name: str, input_shape: tuple[int, ...], specs: list[LayerSpec]) -> Network:
    net = Network(name, input_shape, tuple(specs))
    try:
        check_network(net)
    except NetworkError as exc:
        raise CaptureError(f"model {name}: {exc} (does forward() run the layers in the order "
                           "they are registered?)") from None
    return net


def record(layer: PlannedLayer, inputs: np.ndarray, x: Any, spikes: Any, grad: Any,
           du_values: bool) -> LayerRecord:
    """One layer's LayerRecord from its [T, B, ...] tensors."""
    u = membrane(x, spikes, layer.neuron)
    check_spikes(layer.name, u, spikes, layer.neuron)
    du = float16_du((grad.to(u.dtype) / layer.neuron.input_scale).cpu().numpy())
    return LayerRecord(input_spikes=inputs, output_spikes=binary(layer.neuron_name, spikes),
                       h_mask=surrogate_mask(u, layer.neuron).cpu().numpy(),
                       du_nonzero=du != 0, du_values=du if du_values else None)
