"""One iteration of a trace, as the engines ask for it: one layer × timestep.

Engines ask for the same tile several times (each output-channel tile of the
Forward Engine re-reads its input spikes; the Backward and Weight Update
Engines both read du), so a small LRU cache sits in front of the reader.
Memory stays bounded by the cache size, not by the trace length.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from tlm.layout import INPUT
from traces.network import Network

TENSOR_NAMES = {"spikes": "output_spikes", "h": "h_mask", "du": "du_nonzero"}


class TraceView:
    """Read-through LRU cache of (tensor, layer, timestep) → bool [B, *shape]."""

    def __init__(self, reader, iteration: int, cache_tiles: int = 64) -> None:
        self.reader, self.iteration, self.cache_tiles = reader, iteration, cache_tiles
        self.network: Network = reader.meta.network
        self._cache: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()

    def get(self, tensor: str, layer: int, timestep: int) -> np.ndarray:
        key = (tensor, layer, timestep)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if layer == INPUT:
            value = self.reader.read(self.iteration, 0, "input_spikes", timestep)
        else:
            value = self.reader.read(self.iteration, layer, TENSOR_NAMES[tensor], timestep)
        self._cache[key] = value
        if len(self._cache) > self.cache_tiles:
            self._cache.popitem(last=False)
        return value

    def input_of(self, layer: int, tensor: str, timestep: int, samples: slice) -> np.ndarray:
        """Layer ``layer``'s input-side view of layer-1's tensor, shaped to its in_shape."""
        spec = self.network.layers[layer]
        value = self.get(tensor, layer - 1, timestep)[samples]
        return value.reshape((value.shape[0],) + spec.in_shape)

    def output_of(self, layer: int, tensor: str, timestep: int, samples: slice) -> np.ndarray:
        return self.get(tensor, layer, timestep)[samples]
