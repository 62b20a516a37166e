"""The network description from a PyTorch model's layers, in the order they are registered.

A schema layer is one synaptic operation followed by a neuron layer:
Conv2d → conv, Linear → fc, AvgPool2d → avgpool, and MaxPool2d → avgpool too
(the schema has one pooling kind: a K×K window with stride K; the recorded
spikes are the max-pooled network's own). Flatten is a no-op (fc layers flatten
their input). Biases are not part of the schema's network description (the
Forward Engine accumulates weights only); a model with biases is captured all
the same, its spikes include their effect. Any other module with no children is one CaptureError naming it
and its type. The model must run its layers in registration order (a
Sequential, or a module whose forward follows its attribute order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traces.capture.errors import CaptureError
from traces.capture.neurons import NeuronModel, neuron_model

PASS_THROUGH = ("Flatten", "Identity")
SYNAPTIC = {"Conv2d": "conv", "Linear": "fc", "AvgPool2d": "avgpool", "MaxPool2d": "avgpool"}


@dataclass(frozen=True)
class PlannedLayer:
    """One schema layer: its synaptic module's geometry and the neuron module after it."""

    name: str
    kind: str
    kernel: int
    stride: int
    padding: int
    out_features: int          # conv: out channels, fc: neurons, pool: 0 (keeps channels)
    neuron_name: str
    neuron_module: Any
    neuron: NeuronModel
    synaptic_module: Any = None


def _square(name: str, module: Any, attr: str) -> int:
    value = getattr(module, attr)
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if isinstance(value, str) or len(set(values)) != 1:
        raise CaptureError(f"layer {name} ({type(module).__name__}): {attr}={value!r}; "
                           "the schema holds square windows with one integer value")
    return int(values[0])


def _geometry(name: str, module: Any, kind: str) -> tuple[int, int, int, int]:
    if kind == "fc":
        return 1, 1, 0, int(module.out_features)
    if kind == "conv":
        if getattr(module, "groups", 1) != 1 or _square(name, module, "dilation") != 1:
            raise CaptureError(f"layer {name} (Conv2d): groups and dilation must be 1")
        return (_square(name, module, "kernel_size"), _square(name, module, "stride"),
                _square(name, module, "padding"), int(module.out_channels))
    kernel = _square(name, module, "kernel_size")
    stride = _square(name, module, "stride") if module.stride is not None else kernel
    if stride != kernel:
        raise CaptureError(f"layer {name} ({type(module).__name__}): stride {stride} != kernel "
                           f"{kernel}; the schema pools non-overlapping K×K windows")
    return kernel, stride, _square(name, module, "padding"), 0


def _leaves(module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Modules with no children, in registration order; a neuron layer counts as one leaf."""
    children = list(module.named_children())
    if not children or neuron_model(prefix, module) is not None:
        return [(prefix or type(module).__name__, module)]
    return [leaf for name, child in children
            for leaf in _leaves(child, f"{prefix}.{name}" if prefix else name)]


def plan_layers(model: Any) -> list[PlannedLayer]:
    """The schema layers of ``model``; each synaptic module must be followed by a neuron layer."""
    plan: list[PlannedLayer] = []
    pending: tuple[str, str, tuple[int, int, int, int], Any] | None = None
    for name, module in _leaves(model):
        type_name = type(module).__name__
        model_of = neuron_model(name, module)
        if model_of is not None:
            if pending is None:
                raise CaptureError(f"layer {name} ({type_name}): a neuron layer with no "
                                   "Conv2d/Linear/pooling layer before it")
            syn_name, kind, (k, s, p, out), syn_module = pending
            plan.append(PlannedLayer(syn_name, kind, k, s, p, out, name, module, model_of,
                                     syn_module))
            pending = None
        elif type_name in SYNAPTIC:
            if pending is not None:
                raise CaptureError(f"layer {name} ({type_name}) follows {pending[0]} with no "
                                   "neuron layer between; every schema layer ends in LIF neurons")
            kind = SYNAPTIC[type_name]
            layer_name = f"{kind}{name}" if name.isdigit() else name.replace(".", "_")
            pending = (layer_name, kind, _geometry(name, module, kind), module)
        elif type_name not in PASS_THROUGH:
            raise CaptureError(f"layer {name} ({type(module).__module__}.{type_name}): "
                               "cannot be mapped to the trace schema (Conv2d, Linear, AvgPool2d, "
                               "MaxPool2d, Flatten, snntorch Leaky, spikingjelly LIFNode/IFNode)")
    if pending is not None:
        raise CaptureError(f"layer {pending[0]}: the model ends without a neuron layer after it")
    if not plan:
        raise CaptureError("the model has no Conv2d/Linear/pooling layer followed by neurons")
    return plan
