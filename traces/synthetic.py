"""Synthetic BPTT traces for any topology, with the irregularity real ones have.

Real traces are not uniform: some channels fire far more than others, a neuron
that fired at t tends to fire at t+1, and a sample with busy input keeps every
layer busy. An accelerator whose backward engine waits on its slowest lane is
sensitive to exactly that, so the generator reproduces it instead of drawing
i.i.d. bits at an average rate. Per layer n and sample b (all assumptions, all
parameters of ``SyntheticParams``):

- **spikes** ``o[t]``: each neuron is a two-state Markov chain whose stationary
  probability is ``firing_rate × m_c × g[t,b]^input_coupling`` and whose lag-1
  autocorrelation is ``temporal_corr``; ``m_c`` is a per-channel lognormal
  multiplier with mean 1 and coefficient of variation ``channel_cv``;
  ``g[t,b]`` is the sample's input activity at t relative to its average.
- **surrogate mask** ``h[t]``: neurons that fire sit near threshold, so
  ``P(h=1 | o=1) = h_given_spike``; the rest of the target density goes to
  silent neurons in proportion to their firing probability (busy neurons hover
  near threshold), never to neurons far from any activity.
- **du non-zeros**: from the recursion ``du[t] = do[t]·h[t] + du[t+1]·tau·(1-o[t])``,
  ``du[t]`` is non-zero where ``h[t]`` is 1 (``do`` is dense in practice), or
  where gradient is carried from ``t+1`` and the neuron did not spike (hard
  reset, detached: the spike cuts the carry). A carried value survives with
  probability ``c`` (it decays by tau per step and underflows in low precision);
  ``c`` is solved so the layer's average density hits ``du_density`` for the
  trace's T. So du ⊇ h whenever ``du_density ≥ h_density``; a smaller target
  makes ``do`` zero on part of the mask instead (sparse upstream gradient).
- **chaining**: layer n's input is layer n-1's output (stored as a link);
  layer 0's input is Bernoulli rate coding of per-pixel intensities (i.i.d. in
  time) or, for event data, the same Markov chain with ``temporal_corr``.

Defaults (``LayerRates``: firing 0.15, h 0.25, du 0.40; input 0.20) are typical
of STBP-trained CNNs and assumptions of this project, configurable per layer in
the network TOML (docs/trace-schema.md) or on the command line.

Memory: the generator writes one layer × one timestep at a time (forward in
time for o and h, then backward in time for du, reading o and h back), so its
footprint is a few arrays of ``batch × neurons`` for the largest layer.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Callable, Mapping, Protocol

import numpy as np

from traces import schema
from traces.network import LayerSpec, Network
from traces.record import LayerRecord
from traces.workloads import NeuronConstants, Workload
from traces.writer import TraceWriter, header_for_workload

PRODUCER = "h2learn-tlm synthetic"
MAX_PROBABILITY = 0.95  # keep every neuron stochastic, even in a hot channel


class SyntheticError(ValueError):
    """A synthetic-trace parameter out of range."""


@dataclass(frozen=True)
class LayerRates:
    """Target densities of one layer's output spikes, surrogate mask and du non-zeros."""

    firing_rate: float = 0.15
    h_density: float = 0.25
    du_density: float = 0.40

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 < value < 1.0:
                raise SyntheticError(f"{f.name} = {value}, expected a value in (0, 1)")


@dataclass(frozen=True)
class SyntheticParams:
    """Every knob of the generator; see the module docstring for what each models."""

    input_rate: float = 0.20
    rates: LayerRates = LayerRates()
    layer_rates: Mapping[str, LayerRates] = field(default_factory=dict)
    channel_cv: float = 0.5
    temporal_corr: float = 0.3
    input_coupling: float = 0.5
    h_given_spike: float = 0.8
    du_values: bool = False

    def __post_init__(self) -> None:
        checks = {"input_rate": (0.0, 1.0), "channel_cv": (0.0, 10.0),
                  "temporal_corr": (0.0, 0.99), "input_coupling": (0.0, 4.0),
                  "h_given_spike": (0.0, 1.0)}
        for name, (lo, hi) in checks.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise SyntheticError(f"{name} = {value}, expected a value in [{lo}, {hi}]")

    def rates_for(self, layer_name: str) -> LayerRates:
        return self.layer_rates.get(layer_name, self.rates)


class TensorSink(Protocol):
    """Where generated timesteps go (an IterationWriter, or memory for tests)."""

    def write(self, layer: str | int, tensor: str, t: int, values: np.ndarray) -> None: ...
    def read(self, layer: str | int, tensor: str, t: int) -> np.ndarray: ...
    def write_du_values(self, layer: str | int, t: int, values: np.ndarray) -> None: ...


def lognormal_multipliers(rng: np.random.Generator, count: int, cv: float) -> np.ndarray:
    """Positive multipliers with mean 1 and coefficient of variation ``cv``."""
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), count).astype(np.float32)


def neuron_probabilities(rate: float, multipliers: np.ndarray) -> np.ndarray:
    """rate × multiplier, capped at MAX_PROBABILITY and rescaled so the mean stays ``rate``."""
    p = rate * multipliers
    for _ in range(8):  # capping lowers the mean; a few rescales restore it
        p = np.minimum(p, MAX_PROBABILITY)
        p *= rate / max(float(p.mean()), 1e-12)
    return np.minimum(p, MAX_PROBABILITY).astype(np.float32)


def markov_step(rng: np.random.Generator, prev: np.ndarray | None, p: np.ndarray,
                corr: float) -> np.ndarray:
    """One step of two-state chains with stationary probability p and lag-1 correlation corr."""
    draw = rng.random(p.shape, dtype=np.float32)
    if prev is None:
        return draw < p
    return draw < np.where(prev, p + corr * (1 - p), p * (1 - corr))


def channel_probabilities(spec: LayerSpec, rate: float, rng: np.random.Generator,
                          cv: float) -> np.ndarray:
    """Per-neuron firing probability [neurons]: per-channel multipliers, C-order neurons."""
    per_channel = lognormal_multipliers(rng, spec.out_channels, cv)
    per_neuron = np.repeat(per_channel, spec.out_positions)
    return neuron_probabilities(rate, per_neuron)


def mask_probabilities(p: np.ndarray, rates: LayerRates, h_given_spike: float) -> tuple[float, np.ndarray]:
    """(P(h=1 | o=1), P(h=1 | o=0) per neuron ∝ p) giving overall density ≈ h_density."""
    f, h = rates.firing_rate, rates.h_density
    q1 = min(h_given_spike, h / f)
    silent_weight = max(float(np.mean(p * (1 - p))), 1e-12)  # E[(1-o)·p] over neurons
    scale = max(0.0, h - f * q1) / silent_weight
    return q1, np.minimum(scale * p, 1.0).astype(np.float32)


CALIBRATION_NEURONS = 4096  # neurons simulated to calibrate the du carry probability


@dataclass(frozen=True)
class LayerModel:
    """A layer's per-neuron firing probabilities and mask probabilities."""

    p: np.ndarray        # stationary firing probability per neuron [neurons]
    q1: float            # P(h=1 | o=1)
    q0: np.ndarray       # P(h=1 | o=0) per neuron


def layer_model(plan: "GenerationPlan", index: int) -> LayerModel:
    """Fixed per network and seed: the same channels are hot in every iteration."""
    spec, params = plan.network.layers[index], plan.params
    rates = params.rates_for(spec.name)
    channel_rng = np.random.default_rng([plan.seed, index, 0xC4A7])
    p = channel_probabilities(spec, rates.firing_rate, channel_rng, params.channel_cv)
    q1, q0 = mask_probabilities(p, rates, params.h_given_spike)
    return LayerModel(p, q1, q0)


def _calibration_chain(plan: "GenerationPlan", model: LayerModel,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(o, h, carry uniforms) [T, N] for a sample of neurons, with the generator's own rules."""
    pick = rng.integers(0, model.p.size, CALIBRATION_NEURONS)
    p, q0 = model.p[pick], model.q0[pick]
    o = np.zeros((plan.timesteps, pick.size), dtype=bool)
    state = None
    for t in range(plan.timesteps):
        state = markov_step(rng, state, p, plan.params.temporal_corr)
        o[t] = state
    h = rng.random(o.shape, dtype=np.float32) < np.where(o, model.q1, q0)
    return o, h, rng.random(o.shape, dtype=np.float32)


def _du_density(o: np.ndarray, h: np.ndarray, uniforms: np.ndarray, c: float,
                reset_detached: bool) -> float:
    carried = np.zeros(o.shape[1], dtype=bool)
    total = 0
    for t in reversed(range(o.shape[0])):
        survive = (uniforms[t] < c) & (~o[t] if reset_detached else True)
        carried = h[t] | (carried & survive)
        total += int(carried.sum())
    return total / o.size


def carry_survival(plan: "GenerationPlan", index: int, model: LayerModel) -> tuple[float, float]:
    """(P(do != 0 on the mask), P(carried du survives a step)) so mean du density ≈ target.

    The survival probability is found by bisection on a simulated sample of the
    layer's neurons (same rules, fixed random numbers, so density is monotone in c);
    an analytic stationary formula misses the correlation between mask and spikes.
    """
    rates = plan.params.rates_for(plan.network.layers[index].name)
    rng = np.random.default_rng([plan.seed, index, 0xCA11])
    o, h, uniforms = _calibration_chain(plan, model, rng)
    h_density = max(float(h.mean()), 1e-9)
    if rates.du_density <= h_density:
        return rates.du_density / h_density, 0.0
    lo, hi = 0.0, 1.0
    for _ in range(16):
        mid = (lo + hi) / 2
        below = _du_density(o, h, uniforms, mid, plan.neuron.reset_detached) < rates.du_density
        lo, hi = (mid, hi) if below else (lo, mid)
    return 1.0, hi


def activity_gain(counts: np.ndarray, coupling: float) -> np.ndarray:
    """g[t,b]^coupling: a sample's input activity at t relative to the layer's mean."""
    mean = float(counts.mean())
    if mean <= 0 or coupling == 0:
        return np.ones_like(counts, dtype=np.float32)
    return ((counts / mean) ** coupling).astype(np.float32)


@dataclass(frozen=True)
class GenerationPlan:
    """What one iteration needs besides the random streams."""

    network: Network
    timesteps: int
    batch: int
    neuron: NeuronConstants
    input_kind: str
    params: SyntheticParams
    seed: int


def generate_input(plan: GenerationPlan, sink: TensorSink, rng: np.random.Generator) -> np.ndarray:
    """Write layer 0's input spikes; return spike counts per [t, b]."""
    spec = plan.network.layers[0]
    shape = (plan.batch, spec.in_neurons)
    pixel = lognormal_multipliers(rng, shape[0] * shape[1], 1.0).reshape(shape)
    p = neuron_probabilities(plan.params.input_rate, pixel)
    corr = plan.params.temporal_corr if plan.input_kind == "events" else 0.0
    counts = np.zeros((plan.timesteps, plan.batch), dtype=np.float64)
    state = None
    for t in range(plan.timesteps):
        state = markov_step(rng, state, p, corr)
        sink.write(0, "input_spikes", t, state.reshape(plan.batch, *spec.in_shape))
        counts[t] = state.sum(axis=1)
    return counts


def generate_forward(plan: GenerationPlan, index: int, sink: TensorSink, rng: np.random.Generator,
                     in_counts: np.ndarray) -> np.ndarray:
    """Write one layer's output spikes and mask, forward in time; return output counts [t, b]."""
    spec, params = plan.network.layers[index], plan.params
    model = layer_model(plan, index)
    p, q1, q0 = model.p, model.q1, model.q0
    gain = activity_gain(in_counts, params.input_coupling)
    counts = np.zeros((plan.timesteps, plan.batch), dtype=np.float64)
    state = None
    for t in range(plan.timesteps):
        pt = np.minimum(p[None, :] * gain[t][:, None], MAX_PROBABILITY)
        state = markov_step(rng, state, pt, params.temporal_corr)
        h = rng.random(state.shape, dtype=np.float32) < np.where(state, q1, q0[None, :])
        sink.write(index, "output_spikes", t, state.reshape(plan.batch, *spec.out_shape))
        sink.write(index, "h_mask", t, h.reshape(plan.batch, *spec.out_shape))
        counts[t] = state.sum(axis=1)
    return counts


def generate_backward(plan: GenerationPlan, index: int, sink: TensorSink,
                      rng: np.random.Generator) -> None:
    """Write one layer's du non-zeros (and values), backward in time as BPTT computes them."""
    spec, params = plan.network.layers[index], plan.params
    d, c = carry_survival(plan, index, layer_model(plan, index))
    carried = np.zeros((plan.batch, spec.out_neurons), dtype=bool)
    for t in reversed(range(plan.timesteps)):
        o = sink.read(index, "output_spikes", t).reshape(plan.batch, -1)
        h = sink.read(index, "h_mask", t).reshape(plan.batch, -1)
        survive = rng.random(o.shape, dtype=np.float32) < c
        if plan.neuron.reset_detached:
            survive &= ~o
        fresh = h & (rng.random(o.shape, dtype=np.float32) < d) if d < 1 else h
        carried = fresh | (carried & survive)
        sink.write(index, "du_nonzero", t, carried.reshape(plan.batch, *spec.out_shape))
        if params.du_values:
            sink.write_du_values(index, t, du_values(rng, carried))


def du_values(rng: np.random.Generator, nonzero: np.ndarray) -> np.ndarray:
    """float16 gradient values: random sign, lognormal magnitude (~1e-3), zero off the pattern."""
    magnitude = np.maximum(rng.lognormal(math.log(1e-3), 1.0, nonzero.shape), 1e-4)
    sign = np.where(rng.random(nonzero.shape) < 0.5, -1.0, 1.0)
    return np.where(nonzero, sign * magnitude, 0.0).astype(np.float16)


def generate_iteration(plan: GenerationPlan, iteration: int, sink: TensorSink,
                       progress: Callable[[int], None] | None = None) -> None:
    """Generate every tensor of one iteration into ``sink``, layer by layer."""
    rng = np.random.default_rng([plan.seed, iteration, 0x5EED])
    counts = generate_input(plan, sink, rng)
    for index in range(len(plan.network.layers)):
        counts = generate_forward(plan, index, sink, rng, counts)
        generate_backward(plan, index, sink, rng)
        if progress is not None:
            progress(1)


class MemorySink:
    """A TensorSink holding whole [T, B, *shape] arrays (small networks and tests)."""

    def __init__(self, network: Network, timesteps: int, batch: int) -> None:
        self.network = network
        self.arrays: dict[tuple[int, str], np.ndarray] = {}
        for i, spec in enumerate(network.layers):
            for tensor in schema.PACKED_TENSORS:
                shape = spec.in_shape if tensor == "input_spikes" else spec.out_shape
                self.arrays[(i, tensor)] = np.zeros((timesteps, batch, *shape), dtype=bool)

    def write(self, layer: str | int, tensor: str, t: int, values: np.ndarray) -> None:
        self.arrays[(int(layer), tensor)][t] = values.reshape(self.arrays[(int(layer), tensor)][t].shape)
        if tensor == "output_spikes" and int(layer) + 1 < len(self.network.layers):
            nxt = self.arrays[(int(layer) + 1, "input_spikes")]
            nxt[t] = values.reshape(nxt[t].shape)  # chaining: next layer's input is this output

    def read(self, layer: str | int, tensor: str, t: int) -> np.ndarray:
        return self.arrays[(int(layer), tensor)][t]

    def write_du_values(self, layer: str | int, t: int, values: np.ndarray) -> None:
        key = (int(layer), schema.DU_VALUES)
        if key not in self.arrays:
            self.arrays[key] = np.zeros(self.arrays[(int(layer), "du_nonzero")].shape, np.float16)
        self.arrays[key][t] = values.reshape(self.arrays[key][t].shape)

    def records(self) -> dict[str, LayerRecord]:
        return {spec.name: LayerRecord(*(self.arrays[(i, x)] for x in schema.PACKED_TENSORS),
                                       du_values=self.arrays.get((i, schema.DU_VALUES)))
                for i, spec in enumerate(self.network.layers)}


def plan_for(workload: Workload, params: SyntheticParams, *, batch: int | None = None,
             timesteps: int | None = None, seed: int = 0) -> GenerationPlan:
    return GenerationPlan(workload.network, int(timesteps or workload.timesteps),
                          int(batch or workload.batch), workload.neuron, workload.input_kind,
                          params, int(seed))


def synthesize_iteration(workload: Workload, params: SyntheticParams = SyntheticParams(), *,
                         batch: int | None = None, timesteps: int | None = None, seed: int = 0,
                         iteration: int = 0) -> dict[str, LayerRecord]:
    """One synthetic iteration in memory (the same bits ``generate_trace`` would write)."""
    plan = plan_for(workload, params, batch=batch, timesteps=timesteps, seed=seed)
    sink = MemorySink(plan.network, plan.timesteps, plan.batch)
    generate_iteration(plan, iteration, sink)
    return sink.records()


def generate_trace(path: str | os.PathLike[str], workload: Workload,
                   params: SyntheticParams = SyntheticParams(), *, batch: int | None = None,
                   timesteps: int | None = None, iterations: int = 1, seed: int = 0,
                   progress: Callable[[int], None] | None = None) -> None:
    """Write a synthetic trace file, streaming; ``progress(n)`` advances n of
    ``iterations × layers`` steps."""
    if iterations < 1:
        raise SyntheticError(f"iterations = {iterations}, expected at least 1")
    plan = plan_for(workload, params, batch=batch, timesteps=timesteps, seed=seed)
    header = header_for_workload(workload, producer=PRODUCER, batch=plan.batch,
                                 timesteps=plan.timesteps)
    with TraceWriter(path, header) as writer:
        for k in range(iterations):
            generate_iteration(plan, k, writer.begin_iteration(k), progress)

