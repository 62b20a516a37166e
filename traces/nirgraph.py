"""NIR graphs (the Neuromorphic Intermediate Representation) in and out of the trace schema.

Import (``h2learn trace gen --nir GRAPH.nir``): a chain Input → (Conv2d | Linear
| Affine | SumPool2d | AvgPool2d, then LIF | CubaLIF | IF) … → Output, with
Flatten nodes anywhere, becomes a Workload of the same geometry. A pool that
feeds a Linear/Affine with no neuron between (conv → LIF → sum-pool → flatten
→ affine → LIF) has no binary output for the schema to hold: the two linear
maps compose into one fc layer on the un-pooled spikes, which is exact for the
arithmetic and is how an accelerator whose engines take binary inputs must run
it (with the fc's fan-in K² times the pooled size). Any other
node, a branch, or a synaptic node without a neuron after it is one
NetworkError naming the node. Only the geometry and the neuron constants are
taken: the trace's spikes come from the project's synthetic generator or
trainer, which use the schema's discrete LIF (so a CubaLIF's synaptic filter
and biases are not simulated). NIR neurons are continuous-time,
``tau·dv/dt = (v_leak - v) + R·I``; with the forward-Euler step ``dt`` the leak
per timestep is ``1 - dt/tau``. The default dt = 1e-4 s is the one snnTorch's
and Norse's NIR export use, so a graph they wrote comes back with its beta.

Export (``network_to_nir``): the inverse, with the given weights (or zeros
where none are given), ``tau = dt/(1 - leak)`` and ``r = tau/dt`` (snnTorch's
convention, unit input gain). Needs the ``nir`` package, not torch.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from traces.network import Network, NetworkError, conv_out_size, parse_network
from traces.workloads import NeuronConstants, Workload

DEFAULT_DT_S = 1e-4
SYNAPTIC = ("Conv2d", "Linear", "Affine", "SumPool2d", "AvgPool2d")
NEURONS = ("LIF", "CubaLIF", "IF")


def _pair(node_name: str, field: str, value: Any) -> int:
    values = np.atleast_1d(np.asarray(value)).astype(int).ravel()
    if values.size == 0 or len(set(values.tolist())) != 1:
        raise NetworkError(f"NIR node {node_name}: {field}={value!r}; the schema holds square "
                           "windows with one integer value")
    return int(values[0])


def _uniform(node_name: str, field: str, value: Any) -> float:
    values = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    if values.size == 0 or not np.all(values == values[0]):
        raise NetworkError(f"NIR node {node_name}: {field} differs between neurons; the trace "
                           "holds one value per network")
    return float(values[0])


def _chain(graph: Any) -> list[str]:
    """Node names from the Input to the Output; a branch or a cycle is one error."""
    successors: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        successors.setdefault(src, []).append(dst)
    inputs = [n for n, node in graph.nodes.items() if type(node).__name__ == "Input"]
    if len(inputs) != 1:
        raise NetworkError(f"NIR graph: {len(inputs)} Input nodes, expected 1")
    order, name = [], inputs[0]
    while True:
        if name in order:
            raise NetworkError(f"NIR graph: node {name} closes a cycle")
        order.append(name)
        nxt = successors.get(name, [])
        if len(nxt) > 1:
            raise NetworkError(f"NIR node {name}: {len(nxt)} successors; only chains are supported")
        if not nxt:
            return order
        name = nxt[0]


def _token(name: str, node: Any, shape: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """A synaptic node as a compact-form token (traces/network.py) and its output shape."""
    kind = type(node).__name__
    if kind in ("Linear", "Affine"):
        out = int(np.asarray(node.weight).shape[0])
        return f"FC{out}", (out,)
    if len(shape) != 3:
        raise NetworkError(f"NIR node {name} ({kind}): needs a (C, H, W) input, got {shape}")
    if kind == "Conv2d":
        weight = np.asarray(node.weight)
        k = _pair(name, "kernel", weight.shape[2:])
        if node.groups != 1 or _pair(name, "dilation", node.dilation) != 1:
            raise NetworkError(f"NIR node {name} (Conv2d): groups and dilation must be 1")
        pad = node.padding
        p = {"same": k // 2, "valid": 0}[pad] if isinstance(pad, str) else _pair(name, "padding", pad)
        s = _pair(name, "stride", node.stride)
        out = (int(weight.shape[0]), conv_out_size(shape[1], k, s, p), conv_out_size(shape[2], k, s, p))
        return f"{out[0]}C{k}S{s}P{p}", out
    k, s = _pair(name, "kernel_size", node.kernel_size), _pair(name, "stride", node.stride)
    if s != k or _pair(name, "padding", node.padding) != 0:
        raise NetworkError(f"NIR node {name} ({kind}): the schema pools non-overlapping K×K "
                           "windows (stride = kernel, padding 0)")
    return f"AP{k}", (shape[0], shape[1] // k, shape[2] // k)


def _neuron(name: str, node: Any, dt_s: float) -> NeuronConstants:
    kind = type(node).__name__
    vth = _uniform(name, "v_threshold", node.v_threshold)
    if kind == "IF":
        return NeuronConstants(vth=vth, tau=1.0)
    tau_s = _uniform(name, "tau_mem" if kind == "CubaLIF" else "tau",
                     node.tau_mem if kind == "CubaLIF" else node.tau)
    if _uniform(name, "v_leak", node.v_leak) != 0.0:
        raise NetworkError(f"NIR node {name} ({kind}): v_leak must be 0 (the schema's LIF leaks to 0)")
    leak = 1.0 - dt_s / tau_s
    if not 0.0 <= leak <= 1.0:
        raise NetworkError(f"NIR node {name} ({kind}): tau {tau_s} s with dt {dt_s} s gives a "
                           f"leak of {leak:.3g} per step, outside [0, 1]; pass another --dt")
    return NeuronConstants(vth=vth, tau=leak)


def _input_shape(graph: Any, name: str) -> tuple[int, ...]:
    types = graph.nodes[name].input_type
    shape = next(iter(types.values())) if isinstance(types, Mapping) else types
    return tuple(int(v) for v in np.asarray(shape).ravel())


def nir_network(graph: Any, name: str, dt_s: float = DEFAULT_DT_S) -> tuple[Network, NeuronConstants]:
    """The chain of a NIR graph as a Network and its (shared) neuron constants."""
    order = _chain(graph)
    input_shape = _input_shape(graph, order[0])
    shape, tokens, neurons, pending = input_shape, [], [], None
    before_pool = shape
    for node_name in order[1:]:
        node = graph.nodes[node_name]
        kind = type(node).__name__
        fold = (pending is not None and kind in ("Linear", "Affine")
                and type(graph.nodes[pending]).__name__ in ("SumPool2d", "AvgPool2d"))
        if fold:   # pool → affine with no neuron between: one fc layer (see the docstring)
            tokens.pop()
            shape, pending = before_pool, None
        if kind in SYNAPTIC and pending is None:
            pending, before_pool = node_name, shape
            token, shape = _token(node_name, node, shape if kind not in ("Linear", "Affine")
                                  else (int(np.prod(shape)),))
            tokens.append(token)
        elif kind in NEURONS and pending is not None:
            neurons.append((node_name, _neuron(node_name, node, dt_s)))
            pending = None
        elif kind not in ("Flatten", "Output", "Identity"):
            raise NetworkError(f"NIR node {node_name} ({kind}): cannot be mapped to the trace "
                               f"schema here (expected {'a neuron' if pending else 'Conv2d, Linear, Affine, SumPool2d, AvgPool2d, Flatten'})")
    if pending is not None or not neurons:
        raise NetworkError(f"NIR graph: {pending or 'the graph'} has no neuron node after it")
    first = neurons[0][1]
    for node_name, constants in neurons[1:]:
        if (constants.vth, constants.tau) != (first.vth, first.tau):
            raise NetworkError(f"NIR node {node_name}: neuron constants differ from "
                               f"{neurons[0][0]}'s; a trace holds one set")
    return parse_network("-".join(tokens), input_shape, name), first


def nir_workload(path: str, *, timesteps: int = 8, batch: int = 16,
                 dt_s: float = DEFAULT_DT_S) -> Workload:
    """A Workload from a NIR file: its geometry and neurons, digit data of its input shape."""
    import nir
    from pathlib import Path

    try:
        graph = nir.read(path, type_check=False)  # geometry is checked here, node by node
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise NetworkError(f"{path}: not a readable NIR graph: {exc}") from None
    name = Path(path).stem
    network, neuron = nir_network(graph, name, dt_s)
    topology = "-".join(_tokens_of(network))
    kind = "events" if len(network.input_shape) == 3 and network.input_shape[0] == 2 else "rate"
    return Workload(name, topology, network.input_shape, timesteps, batch, neuron,
                    f"digits (no data in {Path(path).name})", kind)


def _tokens_of(network: Network) -> list[str]:
    out = []
    for layer in network.layers:
        if layer.kind == "fc":
            out.append(f"FC{layer.out_neurons}")
        elif layer.kind == "avgpool":
            out.append(f"AP{layer.kernel}")
        else:
            out.append(f"{layer.out_shape[0]}C{layer.kernel}S{layer.stride}P{layer.padding}")
    return out


def network_to_nir(network: Network, neuron: NeuronConstants,
                   weights: Mapping[str, np.ndarray] | None = None,
                   dt_s: float = DEFAULT_DT_S) -> Any:
    """The network as a ``nir.NIRGraph`` chain: Input, synaptic + neuron node pairs, Output."""
    import nir

    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(network.input_shape)})}
    order = ["input"]
    shape = tuple(network.input_shape)
    for layer in network.layers:
        if layer.kind == "fc" and len(shape) > 1:   # NIR flattens explicitly
            nodes[f"{layer.name}_flatten"] = nir.Flatten(input_type={"input": np.array(shape)},
                                                         start_dim=0, end_dim=-1)
            order.append(f"{layer.name}_flatten")
        nodes.update(_nir_layer(nir, layer, neuron, (weights or {}).get(layer.name), dt_s))
        order += [layer.name, f"{layer.name}_lif"]
        shape = tuple(layer.out_shape)
    nodes["output"] = nir.Output(output_type={"output": np.array(network.layers[-1].out_shape)})
    order.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])))


def _nir_layer(nir: Any, layer: Any, neuron: NeuronConstants, weight: np.ndarray | None,
               dt_s: float) -> dict[str, Any]:
    out = np.array(layer.out_shape)
    if layer.kind == "fc":
        w = np.zeros((layer.out_neurons, layer.in_neurons)) if weight is None else weight
        syn = nir.Affine(weight=np.asarray(w, dtype=np.float32), bias=np.zeros(layer.out_neurons))
    elif layer.kind == "conv":
        shape = (layer.out_shape[0], layer.in_shape[0], layer.kernel, layer.kernel)
        w = np.zeros(shape) if weight is None else weight
        syn = nir.Conv2d(input_shape=tuple(layer.in_shape[1:]), weight=np.asarray(w, dtype=np.float32),
                         stride=layer.stride, padding=layer.padding, dilation=1, groups=1,
                         bias=np.zeros(layer.out_shape[0]))
    else:
        k = np.array([layer.kernel, layer.kernel])
        syn = nir.AvgPool2d(kernel_size=k, stride=k, padding=np.array([0, 0]))
    ones = np.ones(out)
    if neuron.tau >= 1.0:
        cell = nir.IF(r=ones, v_threshold=neuron.vth * ones)
    else:
        tau_s = dt_s / (1.0 - neuron.tau)
        cell = nir.LIF(tau=tau_s * ones, r=tau_s / dt_s * ones, v_leak=0 * ones,
                       v_threshold=neuron.vth * ones)
    return {layer.name: syn, f"{layer.name}_lif": cell}
