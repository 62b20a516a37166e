"""Neuron layers of snnTorch and SpikingJelly, read as the trace schema's LIF neuron.

The schema's neuron (traces/bptt.py) is a hard-reset LIF with a detached or
attached reset::

    u[t] = tau · u[t-1] · (1 - o[t-1]) + x[t],   o[t] = u[t] > Vth

Both frameworks implement exactly this recursion for some settings, and only
those are accepted (anything else is one CaptureError naming the layer):

- snnTorch ``Leaky(beta, threshold, reset_mechanism="zero")`` with the default
  ``reset_delay=True``: ``mem = beta·(1 - reset)·mem + input`` where ``reset``
  is the detached spike of the previous step, so tau = beta, reset detached.
- SpikingJelly ``LIFNode(tau=τ, v_reset=0.0)``: ``H = V + (X - V)/τ`` (or
  ``V - V/τ + X`` with ``decay_input=False``), ``V = H·(1 - S)``; so the leak
  is 1 - 1/τ and x = X/τ (or X); ``IFNode(v_reset=0.0)`` is the leak 1 case.

``x_scale`` is dL/dX → dL/du: 1/τ when the input is decayed, else 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from traces.capture.errors import CaptureError


@dataclass(frozen=True)
class NeuronModel:
    """A framework neuron layer, in the schema's terms."""

    vth: float
    leak: float                 # tau of the schema: the factor u[t-1] is multiplied by
    input_scale: float          # x[t] = input_scale · (the layer's input X[t])
    reset_detached: bool
    surrogate: Callable[[Any], Any]  # the framework's spike function of (u - Vth), with its gradient


def _float(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


def _snntorch(name: str, module: Any) -> NeuronModel:
    if getattr(module, "reset_mechanism", None) != "zero":
        raise CaptureError(f"layer {name} (snntorch Leaky): reset_mechanism "
                           f"{module.reset_mechanism!r}; the H2Learn neuron resets to zero, "
                           "use reset_mechanism='zero'")
    if not getattr(module, "reset_delay", True) or getattr(module, "inhibition", False):
        raise CaptureError(f"layer {name} (snntorch Leaky): reset_delay=False and inhibition "
                           "are not the H2Learn neuron; use the defaults")
    return NeuronModel(vth=_float(module.threshold), leak=_float(module.beta.clamp(0, 1)),
                       input_scale=1.0, reset_detached=True, surrogate=module.spike_grad)


def _spikingjelly(name: str, module: Any, kind: str) -> NeuronModel:
    if module.v_reset is None or _float(module.v_reset) != 0.0:
        raise CaptureError(f"layer {name} (spikingjelly {kind}): v_reset={module.v_reset}; "
                           "the H2Learn neuron resets to zero, use v_reset=0.0")
    leak, scale = 1.0, 1.0
    if kind == "LIFNode":
        tau = _float(module.tau)
        leak = 1.0 - 1.0 / tau
        scale = 1.0 / tau if module.decay_input else 1.0
    return NeuronModel(vth=_float(module.v_threshold), leak=leak, input_scale=scale,
                       reset_detached=bool(module.detach_reset),
                       surrogate=module.surrogate_function)


def neuron_model(name: str, module: Any) -> NeuronModel | None:
    """The module's NeuronModel, or None when it is not a neuron layer."""
    cls = type(module)
    lineage = {f"{c.__module__.split('.')[0]}.{c.__name__}" for c in cls.__mro__}
    if "snntorch.Leaky" in lineage:
        return _snntorch(name, module)
    for kind in ("LIFNode", "IFNode"):
        if f"spikingjelly.{kind}" in lineage:
            return _spikingjelly(name, module, kind)
    if cls.__module__.split(".")[0] in ("snntorch", "spikingjelly") and "Node" in cls.__name__ \
            or cls.__name__ in ("Synaptic", "Alpha", "Lapicque", "RLeaky", "RSynaptic"):
        raise CaptureError(f"layer {name} ({cls.__module__}.{cls.__name__}): not a neuron the "
                           "H2Learn model has; use snntorch Leaky or spikingjelly LIFNode/IFNode")
    return None
