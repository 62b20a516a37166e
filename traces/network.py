"""Network descriptions: the layer list every other part of the model agrees on.

A network is a chain of spiking layers. Every layer — including average
pooling — ends in LIF neurons, so every layer consumes and produces binary
spikes; this is what lets the Forward Engine replace multiplications by LUT
lookups. (Pooling is a fixed-weight 1/K² convolution with stride K followed by
LIF neurons; it has no trainable weights.)

Shapes exclude time and batch: conv/pool layers use (C, H, W), fc layers (N,).
Neurons are flattened in C-order (channel-major), which is also the order of
the bit-packed axis in trace files.

A compact text form describes a topology, e.g. ``32C3-AP2-32C3-AP2-FC128-FC10``
(``C3`` = 3×3 conv, stride 1, padding 1; ``AP2`` = 2×2 average pooling;
``FCn`` = fully connected). ``parse_network`` turns it into layers.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

KINDS = ("fc", "conv", "avgpool")


class NetworkError(ValueError):
    """A network description that cannot be built."""


@dataclass(frozen=True)
class LayerSpec:
    """One spiking layer: its kind, input/output shapes and window geometry."""

    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel: int = 1
    stride: int = 1
    padding: int = 0

    @property
    def in_neurons(self) -> int:
        return math.prod(self.in_shape)

    @property
    def out_neurons(self) -> int:
        return math.prod(self.out_shape)

    @property
    def has_weights(self) -> bool:
        return self.kind != "avgpool"

    @property
    def fan_in(self) -> int:
        """Inputs summed into one output neuron."""
        if self.kind == "fc":
            return self.in_neurons
        if self.kind == "conv":
            return self.in_shape[0] * self.kernel * self.kernel
        return self.kernel * self.kernel  # avgpool: one channel's window

    @property
    def weight_count(self) -> int:
        """Trainable weights (0 for pooling)."""
        if self.kind == "fc":
            return self.in_neurons * self.out_neurons
        if self.kind == "conv":
            return self.out_shape[0] * self.fan_in
        return 0

    @property
    def out_channels(self) -> int:
        return self.out_shape[0] if self.kind != "fc" else self.out_neurons

    @property
    def out_positions(self) -> int:
        """Output points per channel (1 for fc, H*W for conv/pool)."""
        return 1 if self.kind == "fc" else self.out_shape[1] * self.out_shape[2]


@dataclass(frozen=True)
class Network:
    """An ordered chain of layers; layer n's input shape is layer n-1's output."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "input_shape": list(self.input_shape),
                           "layers": [asdict(layer) for layer in self.layers]})

    @classmethod
    def from_json(cls, text: str) -> "Network":
        raw = json.loads(text)
        layers = tuple(
            LayerSpec(name=_name(l["name"]), kind=str(l["kind"]),
                      in_shape=_shape(l["in_shape"]), out_shape=_shape(l["out_shape"]),
                      kernel=_whole(l.get("kernel", 1)), stride=_whole(l.get("stride", 1)),
                      padding=_whole(l.get("padding", 0), least=0))
            for l in raw["layers"])
        net = cls(str(raw["name"]), _shape(raw["input_shape"]), layers)
        check_network(net)
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names):
            raise NetworkError(f"network {net.name!r}: layer names repeat: {names}")
        return net

    @property
    def total_weights(self) -> int:
        return sum(layer.weight_count for layer in self.layers)


# A layer of more neurons than this (ImageNet's first conv output is 3.2 M) cannot be
# simulated on a workstation; past it a size read from a file is damage, not a network.
MAX_LAYER_NEURONS = 1 << 28


def _whole(value: object, least: int = 1) -> int:
    """A JSON integer (not a float, bool or string): a shape is never truncated silently."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise NetworkError(f"expected a whole number, found {value!r}")
    if not least <= value <= MAX_LAYER_NEURONS:
        raise NetworkError(f"size {value} is out of range ({least} .. {MAX_LAYER_NEURONS})")
    return value


def _shape(values: object) -> tuple[int, ...]:
    """A shape of 1 to 3 whole dimensions holding at most MAX_LAYER_NEURONS neurons."""
    if not isinstance(values, list) or not 1 <= len(values) <= 3:
        raise NetworkError(f"expected a shape of 1 to 3 dimensions, found {values!r}")
    shape = tuple(_whole(v) for v in values)
    if math.prod(shape) > MAX_LAYER_NEURONS:
        raise NetworkError(f"shape {shape} holds more than {MAX_LAYER_NEURONS} neurons")
    return shape


def _name(value: object) -> str:
    """A layer name is an HDF5 group name: non-empty text without '/' or a leading '.'."""
    if not isinstance(value, str) or not value or "/" in value or value.startswith("."):
        raise NetworkError(f"layer name {value!r}: expected non-empty text without '/' "
                           "or a leading '.'")
    return value


def conv_out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def expected_out_shape(layer: LayerSpec) -> tuple[int, ...]:
    """Output shape implied by a layer's input shape and geometry (channels from out_shape)."""
    if layer.kind == "fc":
        return layer.out_shape
    c, h, w = layer.in_shape
    oc = c if layer.kind == "avgpool" else layer.out_shape[0]
    return (oc, conv_out_size(h, layer.kernel, layer.stride, layer.padding),
            conv_out_size(w, layer.kernel, layer.stride, layer.padding))


def check_network(net: Network) -> None:
    """Raise NetworkError naming the first inconsistent layer."""
    if not net.layers:
        raise NetworkError(f"network {net.name!r}: no layers")
    shape = net.input_shape
    for i, layer in enumerate(net.layers):
        where = f"layer {i} ({layer.name})"
        if layer.kind not in KINDS:
            raise NetworkError(f"{where}: kind {layer.kind!r}, expected one of {', '.join(KINDS)}")
        expected_in = (math.prod(shape),) if layer.kind == "fc" else shape  # fc flattens
        if layer.in_shape != expected_in:
            raise NetworkError(f"{where}: input shape {layer.in_shape}, expected {expected_in} "
                               "(the previous layer's output)")
        if layer.kind in ("conv", "avgpool") and len(layer.in_shape) != 3:
            raise NetworkError(f"{where}: {layer.kind} needs a (C, H, W) input, got {layer.in_shape}")
        if min(layer.kernel, layer.stride) < 1 or layer.padding < 0:
            raise NetworkError(f"{where}: kernel/stride must be >= 1 and padding >= 0")
        if layer.out_shape != expected_out_shape(layer) or min(layer.out_shape) < 1:
            raise NetworkError(f"{where}: output shape {layer.out_shape}, expected "
                               f"{expected_out_shape(layer)} from its input and geometry")
        shape = layer.out_shape


_TOKEN = re.compile(r"^(?:(\d+)C(\d+)(?:S(\d+))?(?:P(\d+))?|AP(\d+)|FC(\d+))$", re.IGNORECASE)


def parse_network(text: str, input_shape: tuple[int, ...], name: str = "network") -> Network:
    """Build a Network from the compact form, e.g. ``32C3-AP2-FC10``.

    ``nCk`` is an n-channel k×k conv (stride ``Sx``, padding ``Px``; default stride 1
    and 'same' padding k//2), ``APk`` a k×k average pool with stride k, ``FCn`` a
    fully connected layer of n neurons (flattening any spatial input).
    """
    tokens = [t.strip() for t in re.split(r"[-–\s,]+", text.strip()) if t.strip()]
    if not tokens:
        raise NetworkError(f"network {name!r}: empty description")
    layers: list[LayerSpec] = []
    shape = tuple(int(v) for v in input_shape)
    counts: dict[str, int] = {}
    for token in tokens:
        m = _TOKEN.match(token)
        if not m:
            raise NetworkError(f"network {name!r}: cannot read layer {token!r}, "
                               "expected e.g. 32C3, 64C3S2P1, AP2 or FC128")
        conv_c, conv_k, conv_s, conv_p, pool_k, fc_n = m.groups()
        if conv_c:
            kind, k = "conv", int(conv_k)
            s, p = int(conv_s or 1), int(conv_p if conv_p is not None else k // 2)
            if len(shape) != 3:
                raise NetworkError(f"network {name!r}: {token} needs a spatial input, got {shape}")
            out = (int(conv_c), conv_out_size(shape[1], k, s, p), conv_out_size(shape[2], k, s, p))
        elif pool_k:
            kind, k = "avgpool", int(pool_k)
            s, p = k, 0
            if len(shape) != 3:
                raise NetworkError(f"network {name!r}: {token} needs a spatial input, got {shape}")
            out = (shape[0], conv_out_size(shape[1], k, s, p), conv_out_size(shape[2], k, s, p))
        else:
            kind, k, s, p = "fc", 1, 1, 0
            shape = (math.prod(shape),)
            out = (int(fc_n),)
        counts[kind] = counts.get(kind, 0) + 1
        layers.append(LayerSpec(f"{kind}{counts[kind]}", kind, shape, out, k, s, p))
        shape = out
    net = Network(name, tuple(int(v) for v in input_shape), tuple(layers))
    check_network(net)
    return net
