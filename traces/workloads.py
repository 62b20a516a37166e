"""Named workloads: a network plus the BPTT settings a trace of it is made with.

The four reference workloads (MNIST and N-MNIST CNNs, a CIFAR-10 CIFARNet,
a DVS-Gesture CNN) are an assumption of this project: the H2Learn paper's own
list is not available, only its headline results (Liang et al., IEEE TCAD 2022). Neuron constants are
the co-authors' public STBP settings (yjwu17/STBP-for-training-SpikingNN):
MNIST-like sets use Vth 0.5, tau 0.2; CIFAR-10 uses Vth 0.75, tau 0.25; the
surrogate half-width is 0.5 (full width a = 1.0). ``tiny-cnn`` and ``tiny-mlp``
are small workloads for tests and the embedded sample.
"""

from __future__ import annotations

from dataclasses import dataclass

from traces.network import Network, parse_network


@dataclass(frozen=True)
class NeuronConstants:
    """LIF constants: threshold, leak factor, rectangular surrogate full width."""

    vth: float = 0.5
    tau: float = 0.2
    surrogate_width: float = 1.0
    reset_detached: bool = True


@dataclass(frozen=True)
class Workload:
    name: str
    topology: str
    input_shape: tuple[int, ...]
    timesteps: int
    batch: int
    neuron: NeuronConstants
    dataset: str
    input_kind: str  # "rate" (Bernoulli-coded intensities) or "events" (DVS-like)

    @property
    def network(self) -> Network:
        return parse_network(self.topology, self.input_shape, self.name)


_MNIST = NeuronConstants(vth=0.5, tau=0.2, surrogate_width=1.0)
_CIFAR = NeuronConstants(vth=0.75, tau=0.25, surrogate_width=1.0)

WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("mnist-cnn", "32C3-AP2-32C3-AP2-FC128-FC10", (1, 28, 28), 20, 100, _MNIST,
             "mnist-like", "rate"),
    Workload("nmnist-cnn", "32C3-AP2-32C3-AP2-FC128-FC10", (2, 34, 34), 20, 100, _MNIST,
             "nmnist-like", "events"),
    Workload("cifar10-cifarnet",
             "128C3-256C3-AP2-512C3-AP2-1024C3-512C3-FC1024-FC512-FC10", (3, 32, 32), 5, 10,
             _CIFAR, "cifar10-like", "rate"),
    Workload("dvsgesture-cnn", "64C3-AP2-128C3-AP2-128C3-AP2-FC256-FC11", (2, 32, 32), 16, 16,
             _MNIST, "dvsgesture-like", "events"),
    Workload("tiny-cnn", "8C3-AP2-FC32-FC10", (1, 12, 12), 8, 16, _MNIST, "digits-12x12", "rate"),
    Workload("tiny-mlp", "FC64-FC10", (144,), 8, 16, _MNIST, "digits-12x12", "rate"),
)}


def get_workload(name: str) -> Workload:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}") from None
