"""BPTT for LIF spiking networks in numpy: the functional golden model.

This is the numpy implementation of the BPTT that H2Learn accelerates (Liang et al.,
"H2Learn", arXiv 2107.11746) that the accelerator model is
checked against and that records the traces the simulator replays. Per layer n
and timestep t (no bias: the Forward Engine only accumulates weights)::

    x[t] = W · o_in[t]
    u[t] = tau · u[t-1] · (1 - o[t-1]) + x[t]        (leak, hard reset)
    o[t] = H(u[t] - Vth)                             (strict: u > Vth fires)
    h[t] = |u[t] - Vth| < a/2                        (rectangular surrogate mask)

Backward, layer by layer from the top and backwards in time::

    do[t]  = W_next^T · du_next[t]        (or dL/do[t] from the loss at the top)
    du[t]  = do[t] ⊙ h[t]/a + du[t+1] ⊙ tau·(1 - o[t])                     detached
    du[t] += -du[t+1] ⊙ tau·u[t] ⊙ h[t]/a     (only if the reset path is not detached)
    dW     = Σ_t Σ_b du[t] ⊗ o_in[t]

Surrogate scaling: the derivative used for dO/dU is h/a, the rectangle of unit
area, which is the exact derivative of the piecewise-linear spike function
``clip((u - Vth)/a + 1/2, 0, 1)`` (``linear_spike``); with the workloads'
a = 1 it equals the plain surrogate mask h and the STBP code's mask. Running the
forward pass with ``spike_fn=linear_spike`` makes the backward pass an exact
gradient, which is how the tests check it against finite differences.

Layers: fc (flattens its input in C-order), conv (any kernel/stride/padding;
im2col through numpy stride tricks) and spiking average pooling (fixed weights
1/K², zero padding counted, LIF neurons after it, nothing trainable); their
synaptic operators are in ``traces/synapse.py``. All T timesteps of a layer's
synaptic input are one matrix product, because x[t] depends only on the layer
below; only the LIF recursion loops over time.

Arithmetic: by default (``fixed=FIXED_POINT``) the weights and each layer's du
enter the synaptic sums on a fixed-point grid (``traces/fixedpoint.py``), so
every sum is exact and the same on every machine, BLAS kernel and thread count;
everything else is elementwise IEEE arithmetic, correctly rounded everywhere.
``fixed=None`` computes in plain float, for the finite-difference checks.

The loss is taken on the output firing rate r = mean_t o[t] of the last layer:
``mse`` = mean over batch and classes of (r - onehot)², as the STBP code does;
``ce`` = softmax cross-entropy with the spike count Σ_t o[t] as logits.
The training loop that uses these operators is ``traces/trainer.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from traces.fixedpoint import FIXED_POINT, FixedPoint, check_exact
from traces.network import Network
from traces.record import LayerRecord
from traces.synapse import input_gradient, synaptic_input, weight_gradient
from traces.workloads import NeuronConstants

__all__ = ["input_gradient", "synaptic_input", "weight_gradient"]  # re-exported operators

SpikeFn = Callable[[np.ndarray, float], np.ndarray]
Weights = dict[str, np.ndarray]
LOSSES = ("mse", "ce")
# SGD step sizes that train the tiny workloads in a few hundred iterations. The mse
# gradient is divided by classes·T, the ce one is not, hence the factor of ten.
DEFAULT_LR = {"mse": 0.5, "ce": 0.05}
FLOAT16_TINY = np.float16(2.0 ** -24)   # smallest float16 subnormal
FLOAT16_MAX = 65504.0


def heaviside_spike(v: np.ndarray, width: float) -> np.ndarray:
    """The LIF spike: 1 where u - Vth = v > 0 (width unused; kept for a common signature)."""
    return (v > 0).astype(v.dtype)


def linear_spike(v: np.ndarray, width: float) -> np.ndarray:
    """Piecewise-linear spike whose derivative is exactly the surrogate h/a (for gradient checks)."""
    return np.clip(v / width + 0.5, 0.0, 1.0)


def surrogate_mask(u: np.ndarray, neuron: NeuronConstants) -> np.ndarray:
    """h = |u - Vth| < a/2, the rectangular surrogate dO/dU mask."""
    return np.abs(u - neuron.vth) < neuron.surrogate_width / 2


# --------------------------------------------------------------- forward / backward

@dataclass
class LayerState:
    """One layer's forward tensors, all [T, B, *shape] in the compute dtype."""

    inputs: np.ndarray    # o_in, over in_shape
    membrane: np.ndarray  # u
    spikes: np.ndarray    # o


@dataclass
class ForwardState:
    """Every layer's forward tensors, bottom to top: what the backward pass consumes."""

    layers: list[LayerState]

    @property
    def output_rate(self) -> np.ndarray:
        """Firing rate of the last layer, [B, classes]."""
        return self.layers[-1].spikes.mean(axis=0)


def lif_forward(x: np.ndarray, neuron: NeuronConstants, spike_fn: SpikeFn,
                reset_spikes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the LIF recursion over x [T, ...] -> (u, o). ``reset_spikes`` pins the reset factor."""
    u = np.empty_like(x)
    o = np.empty_like(x)
    prev_u = np.zeros_like(x[0])
    prev_o = np.zeros_like(x[0])
    for t in range(x.shape[0]):
        prev_o_reset = prev_o if reset_spikes is None or t == 0 else reset_spikes[t - 1]
        u[t] = neuron.tau * prev_u * (1 - prev_o_reset) + x[t]
        o[t] = spike_fn(u[t] - neuron.vth, neuron.surrogate_width)
        prev_u, prev_o = u[t], o[t]
    return u, o


def forward(network: Network, weights: Weights, input_spikes: np.ndarray,
            neuron: NeuronConstants, *, spike_fn: SpikeFn = heaviside_spike,
            reset_spikes: Sequence[np.ndarray] | None = None,
            fixed: FixedPoint | None = FIXED_POINT) -> ForwardState:
    """Forward pass of all layers over input spikes [T, B, *input_shape].

    Keeps the state in the weights' dtype. ``fixed`` puts the weights on their
    fixed-point grid first, which makes every synaptic sum exact (the same on
    every machine); None computes with the weights as given (gradient checks).
    ``reset_spikes`` (one [T, B, *out] array per layer) holds every reset
    factor (1 - o[t-1]) at given values: the function whose gradient the
    detached backward pass computes (used by gradient checks).
    """
    dtype = next(iter(weights.values())).dtype if weights else np.float32
    engine_weights = weights if fixed is None else fixed.weights(weights)
    t_steps, batch = input_spikes.shape[:2]
    current = input_spikes.astype(dtype)
    layers: list[LayerState] = []
    for i, spec in enumerate(network.layers):
        if fixed is not None:
            check_exact(spec, t_steps * batch, fixed)
        flat_in = current.reshape((t_steps * batch,) + spec.in_shape)
        x = synaptic_input(spec, engine_weights.get(spec.name), flat_in, dtype)
        x = x.reshape((t_steps, batch) + spec.out_shape)
        pinned = None if reset_spikes is None else reset_spikes[i]
        u, o = lif_forward(x, neuron, spike_fn, pinned)
        layers.append(LayerState(flat_in.reshape((t_steps, batch) + spec.in_shape), u, o))
        current = o
    return ForwardState(layers)


def lif_backward(do: np.ndarray, state: LayerState, neuron: NeuronConstants,
                 reset_detached: bool) -> np.ndarray:
    """du[t] from do[t] (both [T, ...]), backwards in time; see the module docstring."""
    surrogate = surrogate_mask(state.membrane, neuron).astype(do.dtype) / neuron.surrogate_width
    du = np.empty_like(do)
    next_du = np.zeros_like(do[0])
    for t in range(do.shape[0] - 1, -1, -1):
        carried = next_du * neuron.tau
        du[t] = do[t] * surrogate[t] + carried * (1 - state.spikes[t])
        if not reset_detached:
            du[t] -= carried * state.membrane[t] * surrogate[t]
        next_du = du[t]
    return du


@dataclass
class Gradients:
    """Result of the backward pass."""

    weights: Weights                 # dL/dW per trainable layer
    membrane: list[np.ndarray]       # du = dL/du per layer, [T, B, *out_shape]


def backward(network: Network, weights: Weights, state: ForwardState, dloss_dout: np.ndarray,
             neuron: NeuronConstants, *, reset_detached: bool | None = None,
             fixed: FixedPoint | None = FIXED_POINT) -> Gradients:
    """BPTT from dL/do of the last layer [T, B, classes] down to every layer's du and dW.

    ``fixed`` puts the weights and each layer's du on their fixed-point grids
    before the synaptic sums (exact, hence machine-independent); the du kept
    in the result is the one the sums used. None: plain float (gradient checks).
    """
    detached = neuron.reset_detached if reset_detached is None else reset_detached
    engine_weights = weights if fixed is None else fixed.weights(weights)
    do = dloss_dout
    grads: Weights = {}
    dus: list[np.ndarray] = [np.empty(0)] * len(network.layers)
    for i in range(len(network.layers) - 1, -1, -1):
        spec, layer = network.layers[i], state.layers[i]
        du = lif_backward(do, layer, neuron, detached)
        if fixed is not None:
            du = fixed.du(du).astype(du.dtype)  # 20-bit grid values: exact in float32
        dus[i] = du
        t_steps, batch = du.shape[:2]
        flat_du = du.reshape((t_steps * batch,) + spec.out_shape)
        flat_in = layer.inputs.reshape((t_steps * batch,) + spec.in_shape)
        grad = weight_gradient(spec, flat_in, flat_du)
        if grad is not None:
            grads[spec.name] = grad.astype(du.dtype)
        if i > 0:
            do = input_gradient(spec, engine_weights.get(spec.name), flat_du, du.dtype)
            do = do.reshape((t_steps, batch) + network.layers[i - 1].out_shape)
    return Gradients(grads, dus)


# --------------------------------------------------------------- loss and init

def loss_and_grad(spikes_out: np.ndarray, labels: np.ndarray, kind: str) -> tuple[float, np.ndarray]:
    """Loss on the output spikes [T, B, C] and its gradient dL/do, same shape."""
    t_steps, batch, classes = spikes_out.shape
    onehot = np.eye(classes, dtype=spikes_out.dtype)[labels]
    if kind == "mse":
        rate = spikes_out.mean(axis=0)
        diff = rate - onehot
        grad_rate = 2.0 * diff / (batch * classes)
        return float((diff ** 2).mean()), np.broadcast_to(grad_rate / t_steps, spikes_out.shape).copy()
    if kind == "ce":
        logits = spikes_out.sum(axis=0)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -float((log_prob * onehot).sum() / batch)
        grad_logits = (np.exp(log_prob) - onehot) / batch
        return loss, np.broadcast_to(grad_logits, spikes_out.shape).copy()
    raise ValueError(f"unknown loss {kind!r}, expected one of {', '.join(LOSSES)}")


def accuracy(spikes_out: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose most active output neuron is the label (ties -> lowest index)."""
    return float((spikes_out.sum(axis=0).argmax(axis=1) == labels).mean())


def init_weights(network: Network, neuron: NeuronConstants, rng: np.random.Generator,
                 dtype: type = np.float32, gain: float = 2.0) -> Weights:
    """Gaussian weights scaled to the fan-in and the threshold so spikes reach deep layers.

    With binary inputs firing at rate p, x has standard deviation
    std_w · sqrt(fan_in · p). Choosing std_w = gain · Vth / sqrt(fan_in) puts
    that spread at gain · sqrt(p) · Vth, i.e. near the threshold for typical
    rates p ~ 0.1–0.3, so every layer fires from the first iteration on.
    """
    weights: Weights = {}
    for spec in network.layers:
        if not spec.has_weights:
            continue
        shape = ((spec.out_neurons, spec.in_neurons) if spec.kind == "fc" else
                 (spec.out_shape[0], spec.in_shape[0], spec.kernel, spec.kernel))
        std = gain * neuron.vth / math.sqrt(spec.fan_in)
        weights[spec.name] = rng.normal(0.0, std, shape).astype(dtype)
    return weights


def _rate_scale(x: np.ndarray, neuron: NeuronConstants, target_rate: float,
                bisections: int = 12) -> float:
    """Factor s for which LIF neurons driven by s·x fire at about ``target_rate``.

    The rate grows with s (the spread of x grows past Vth), so double s until
    the rate is reached, then bisect. Returns 1 when no scale can reach the
    target (e.g. an input with no spikes at all).
    """
    def rate(scale: float) -> float:
        return float(lif_forward(scale * x, neuron, heaviside_spike)[1].mean())

    low, high = 0.0, 1.0
    while rate(high) < target_rate:
        low, high = high, 2.0 * high
        if high > 2.0 ** 16:
            return 1.0
    for _ in range(bisections):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if rate(mid) < target_rate else (low, mid)
    return high


def calibrate_weights(network: Network, weights: Weights, input_spikes: np.ndarray,
                      neuron: NeuronConstants, target_rate: float,
                      fixed: FixedPoint | None = FIXED_POINT) -> Weights:
    """Rescale each weighted layer, bottom up, so it fires at ``target_rate`` on a sample batch.

    Random init alone lets rates shrink layer after layer (pooling LIFs thin
    spikes further), until deep layers are silent and BPTT has no surrogate
    mask to pass gradients through. Since x is linear in W, only the LIF
    recursion is rerun while searching each layer's scale. The search sees
    the weights on their fixed-point grid, as ``forward`` does.
    """
    t_steps, batch = input_spikes.shape[:2]
    scaled = dict(weights)
    dtype = next(iter(weights.values())).dtype
    current = input_spikes.astype(dtype)
    for i, spec in enumerate(network.layers):
        flat_in = current.reshape((t_steps * batch,) + spec.in_shape)
        weight = scaled.get(spec.name)
        if weight is not None and fixed is not None:
            weight = fixed.weights({spec.name: weight})[spec.name]
        x = synaptic_input(spec, weight, flat_in, dtype)
        x = x.reshape((t_steps, batch) + spec.out_shape)
        if spec.has_weights:
            # the output layer starts at the mean of its one-hot target, 1/classes
            is_output = i == len(network.layers) - 1
            scale = _rate_scale(x, neuron, 1.0 / spec.out_neurons if is_output else target_rate)
            scaled[spec.name] = (scaled[spec.name] * scale).astype(scaled[spec.name].dtype)
            x = x * scale
        current = lif_forward(x, neuron, heaviside_spike)[1]
    return scaled


# --------------------------------------------------------------- recording

def float16_du(du: np.ndarray) -> np.ndarray:
    """du as float16 without losing its sparsity: tiny non-zeros become ±2^-24, not 0."""
    half = np.clip(du, -FLOAT16_MAX, FLOAT16_MAX).astype(np.float16)
    lost = (half == 0) & (du != 0)
    half[lost] = np.copysign(FLOAT16_TINY, du[lost]).astype(np.float16)
    return half


def layer_records(network: Network, state: ForwardState, grads: Gradients,
                  neuron: NeuronConstants) -> dict[str, LayerRecord]:
    """The trace tensors of one iteration, one LayerRecord per layer, keyed by layer name."""
    records: dict[str, LayerRecord] = {}
    for spec, layer, du in zip(network.layers, state.layers, grads.membrane):
        du_half = float16_du(du)
        records[spec.name] = LayerRecord(
            input_spikes=layer.inputs.astype(bool), output_spikes=layer.spikes.astype(bool),
            h_mask=surrogate_mask(layer.membrane, neuron), du_nonzero=du_half != 0,
            du_values=du_half)
    return records
