"""Where every tensor lives in DRAM, and how many bytes a tile of it takes.

Tensors are laid out one region per (tensor, layer), 4 KiB aligned, in the
order the schedule touches them, timestep-major then sample-major, so that a
tile (one timestep × a chunk of samples) is one contiguous range — the DRAM
model then sees the row locality a real DMA engine would produce.

Storage formats (DESIGN §3): spikes and surrogate masks are bit-packed (1 bit
per neuron-step); du is stored compressed as a bitmask plus its non-zero
values; weights at ``fe.weight_bits``.
"""

from __future__ import annotations

import math

from tlm.config import SystemConfig
from traces.network import Network

ALIGN_BYTES = 4096
INPUT = -1  # layer index of the network's encoded input spikes


def packed_bytes(neurons: int) -> int:
    """Bytes of one sample's bit-packed neuron vector."""
    return (neurons + 7) // 8


class Layout:
    """DRAM address map of one training iteration's tensors."""

    def __init__(self, network: Network, timesteps: int, batch: int, cfg: SystemConfig) -> None:
        self.network, self.timesteps, self.batch = network, timesteps, batch
        self.grad_bytes = cfg.be.grad_bits / 8
        self.weight_bytes = cfg.fe.weight_bits / 8
        self._base: dict[tuple[str, int], int] = {}
        self._next = 0
        self._region("spikes", INPUT, timesteps * batch * packed_bytes(network.layers[0].in_neurons))
        for n, layer in enumerate(network.layers):
            per_step = batch * packed_bytes(layer.out_neurons)
            self._region("weights", n, math.ceil(layer.weight_count * self.weight_bytes))
            self._region("spikes", n, timesteps * per_step)
            self._region("h", n, timesteps * per_step)
            self._region("du", n, timesteps * batch * self.du_sample_bytes(n, layer.out_neurons))
            self._region("spill", n, 2 * timesteps * batch * layer.out_neurons * 4)

    def _region(self, tensor: str, layer: int, size_bytes: int) -> None:
        self._base[(tensor, layer)] = self._next
        self._next += -(-max(size_bytes, 1) // ALIGN_BYTES) * ALIGN_BYTES

    def neurons(self, layer: int) -> int:
        if layer == INPUT:
            return self.network.layers[0].in_neurons
        return self.network.layers[layer].out_neurons

    def du_sample_bytes(self, layer: int, nonzeros: int) -> int:
        """One sample's compressed du: bitmask + non-zero values."""
        return self.du_tile_bytes(layer, 1, nonzeros)

    def du_tile_bytes(self, layer: int, samples: int, nonzeros: int) -> int:
        """A tile of compressed du: each sample's bitmask, then the tile's ``nonzeros``
        values. The one rule for its size, so a tile is read exactly as it was written."""
        return samples * packed_bytes(self.neurons(layer)) + math.ceil(nonzeros * self.grad_bytes)

    def spike_tile_bytes(self, layer: int, samples: int) -> int:
        """A tile of bit-packed spikes (or surrogate masks) of ``samples`` samples."""
        return samples * packed_bytes(self.neurons(layer))

    def address(self, tensor: str, layer: int, timestep: int = 0, sample: int = 0) -> int:
        """Start of a (timestep, sample) tile of a tensor."""
        per_sample = {"spikes": packed_bytes(self.neurons(layer)),
                      "h": packed_bytes(self.neurons(layer)),
                      "du": self.du_sample_bytes(layer, self.neurons(layer))}.get(tensor, 0)
        return self._base[(tensor, layer)] + (timestep * self.batch + sample) * per_sample

    def weights(self, layer: int) -> tuple[int, int]:
        """(address, bytes) of a layer's weights."""
        count = self.network.layers[layer].weight_count
        return self._base[("weights", layer)], math.ceil(count * self.weight_bytes)

    @property
    def total_bytes(self) -> int:
        return self._next
