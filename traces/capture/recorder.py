"""Forward and backward hooks on a model's neuron layers: what one training step did.

For each neuron layer the hooks keep, per call, the layer's input X (the
synaptic current, before the neuron's input scaling), its output spikes, and
dL/dX from the backward pass. A single-step loop calls a layer T times with
[B, ...] tensors; SpikingJelly's multi-step mode (``step_mode='m'``) calls it
once with [T, B, ...]; both become [T, B, ...] here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from traces.capture.errors import CaptureError
from traces.capture.graph import PlannedLayer


@dataclass
class LayerCalls:
    """What the hooks saw on one neuron layer, call by call."""

    inputs: list[Any] = field(default_factory=list)
    spikes: list[Any] = field(default_factory=list)
    grads: dict[int, Any] = field(default_factory=dict)


class Recorder:
    """Installs the hooks (``with Recorder(plan) as rec:``) and removes them on exit."""

    def __init__(self, plan: list[PlannedLayer]) -> None:
        self.plan = plan
        self.calls = {layer.name: LayerCalls() for layer in plan}
        self._handles: list[Any] = []

    def __enter__(self) -> "Recorder":
        for layer in self.plan:
            calls = self.calls[layer.name]
            module = layer.neuron_module
            self._handles.append(module.register_forward_pre_hook(self._pre_hook(calls)))
            self._handles.append(module.register_forward_hook(self._post_hook(calls)))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    @staticmethod
    def _pre_hook(calls: LayerCalls):
        def hook(module: Any, args: tuple[Any, ...]) -> None:
            x = args[0]
            index = len(calls.inputs)
            calls.inputs.append(x.detach())
            if x.requires_grad:
                x.register_hook(lambda grad: calls.grads.__setitem__(index, grad.detach()))
        return hook

    @staticmethod
    def _post_hook(calls: LayerCalls):
        def hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
            spikes = output[0] if isinstance(output, (tuple, list)) else output
            calls.spikes.append(spikes.detach())
        return hook

    def sequences(self, name: str, timesteps: int) -> tuple[Any, Any, Any]:
        """(X, spikes, dL/dX) of one layer as [T, B, ...] tensors."""
        import torch

        calls = self.calls[name]
        n = len(calls.inputs)
        if n == 0:
            raise CaptureError(f"layer {name}: its neurons never ran during the step")
        if not calls.grads:
            raise CaptureError(f"layer {name}: no gradient reached it; the step must call "
                               "loss.backward() on a loss of the model's output")
        grads = [calls.grads.get(i, torch.zeros_like(calls.inputs[i])) for i in range(n)]
        if n == 1 and calls.inputs[0].shape[0] == timesteps:   # multi-step mode
            return calls.inputs[0], calls.spikes[0], grads[0]
        if n == timesteps:                                     # a single-step loop
            return torch.stack(calls.inputs), torch.stack(calls.spikes), torch.stack(grads)
        raise CaptureError(f"layer {name}: ran {n} times for T={timesteps} timesteps; call it "
                           "once per timestep, or once on [T, B, ...] (multi-step mode)")
