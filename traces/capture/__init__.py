"""Capture one training step of a snnTorch or SpikingJelly model as an H2Learn trace.

    import torch, snntorch as snn
    from traces.capture import capture_step

    net = torch.nn.Sequential(torch.nn.Conv2d(2, 8, 3, padding=1, bias=False),
                              snn.Leaky(beta=0.5, threshold=0.5, reset_mechanism="zero", init_hidden=True),
                              torch.nn.Flatten(), torch.nn.Linear(8 * 34 * 34, 10, bias=False),
                              snn.Leaky(beta=0.5, threshold=0.5, reset_mechanism="zero", init_hidden=True))
    def step(spikes):                     # the user's own loop, loss and optimizer
        optimizer.zero_grad(); out = torch.stack([net(x) for x in spikes])
        loss = loss_fn(out, labels); loss.backward(); optimizer.step(); return loss
    captured = capture_step(net, spikes, step)   # spikes: binary [T, B, C, H, W]
    captured.write("run.h5", dataset="n-mnist")  # then: h2learn trace check run.h5; h2learn run run.h5

Hooks on the neuron layers record, per layer, timestep and sample, the input
and output spikes, the surrogate mask h (where the framework's surrogate
gradient is non-zero) and du = dL/du (its non-zero pattern and float16
values); the network comes from the model's layers (traces/capture/graph.py),
the neuron constants from its neuron layers (traces/capture/neurons.py).
``captured.to_nir()`` exports the network as a NIR graph (traces/nirgraph.py).
Needs the ``capture`` extra (torch and the framework in use).
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import Any, Callable

from traces.capture.assemble import binary, build_network, layer_spec, record, surrogate_width
from traces.capture.errors import CaptureError
from traces.capture.graph import PlannedLayer, plan_layers
from traces.capture.recorder import Recorder
from traces.network import Network
from traces.record import LayerRecord
from traces.schema import TraceHeader
from traces.workloads import NeuronConstants

__all__ = ["Captured", "CaptureError", "capture_step"]
PRODUCER = "h2learn-tlm capture"
PRODUCER_VERSION = "0.1.0"


@dataclass
class Captured:
    """One captured training iteration: network, neuron constants and per-layer records."""

    network: Network
    neuron: NeuronConstants
    layers: dict[str, LayerRecord]
    loss: float | None
    framework: str
    weights: dict[str, Any]      # numpy weights after the step, per conv/fc layer

    @property
    def timesteps(self) -> int:
        return int(next(iter(self.layers.values())).output_spikes.shape[0])

    @property
    def batch(self) -> int:
        return int(next(iter(self.layers.values())).output_spikes.shape[1])

    def header(self, dataset: str = "user data") -> TraceHeader:
        return TraceHeader(network=self.network, timesteps=self.timesteps, batch=self.batch,
                           neuron=self.neuron, dataset=dataset, workload=self.network.name,
                           producer=f"{PRODUCER} ({self.framework})",
                           producer_version=PRODUCER_VERSION)

    def write(self, path: str | PathLike[str], *, dataset: str = "user data",
              iteration: int = 0) -> None:
        """Write the iteration as a trace file (atomically: all of it or nothing)."""
        from traces.writer import TraceWriter

        with TraceWriter(path, self.header(dataset)) as writer:
            writer.write_iteration(iteration, self.layers, loss=self.loss)

    def to_nir(self) -> Any:
        """The network and its weights (after the step) as a ``nir.NIRGraph``."""
        from traces.nirgraph import network_to_nir

        return network_to_nir(self.network, self.neuron, self.weights)


def _constants(plan: list[PlannedLayer]) -> NeuronConstants:
    """The one set of neuron constants a trace holds; every layer must share it."""
    first = plan[0].neuron
    for layer in plan[1:]:
        n = layer.neuron
        if (n.vth, n.leak, n.reset_detached) != (first.vth, first.leak, first.reset_detached):
            raise CaptureError(f"layer {layer.neuron_name}: neuron constants (Vth {n.vth}, leak "
                               f"{n.leak}, detached reset {n.reset_detached}) differ from "
                               f"{plan[0].neuron_name}'s; a trace holds one set")
    return NeuronConstants(vth=first.vth, tau=first.leak, surrogate_width=surrogate_width(first),
                           reset_detached=first.reset_detached)


def _framework(plan: list[PlannedLayer]) -> str:
    return type(plan[0].neuron_module).__module__.split(".")[0]


def capture_step(model: Any, inputs: Any, step: Callable[[Any], Any], *, name: str | None = None,
                 du_values: bool = True) -> Captured:
    """Run ``step(inputs)`` (forward, loss, backward, optimizer step) once and record it.

    ``inputs``: binary input spikes [T, B, *input_shape] (a torch tensor); ``step``
    returns the loss (or None). The model's layers must run in registration order.
    """
    plan = plan_layers(model)
    neuron = _constants(plan)
    timesteps = int(inputs.shape[0])
    with Recorder(plan) as recorder:
        loss = step(inputs)
    current = binary("inputs", inputs)
    shape = tuple(int(v) for v in current.shape[2:])
    specs, records = [], {}
    for layer in plan:
        x, spikes, grad = recorder.sequences(layer.name, timesteps)
        out_shape = tuple(int(v) for v in spikes.shape[2:])
        specs.append(layer_spec(layer, shape, out_shape))
        records[layer.name] = record(layer, current, x, spikes, grad, du_values)
        current, shape = records[layer.name].output_spikes, out_shape
    network = build_network(name or type(model).__name__.lower(), tuple(int(v) for v in inputs.shape[2:]),
                            specs)
    weights = {layer.name: layer.synaptic_module.weight.detach().cpu().numpy()
               for layer in plan if layer.kind in ("conv", "fc")}
    value = None if loss is None else float(getattr(loss, "detach", lambda: loss)())
    return Captured(network, neuron, records, value, _framework(plan), weights)
