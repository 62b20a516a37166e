"""One iteration of a trace, as the engines ask for it: one layer × timestep.

Engines ask for the same tile several times (each output-channel tile of the
Forward Engine re-reads its input spikes; the Backward and Weight Update
Engines both read du), so an LRU cache sits in front of the reader. It is
bounded in bytes (``trace.cache_mib``), not in tiles: a tile's size grows with
the batch, and a tile count would let memory grow with it. It keeps tiles
bit-packed, as the trace stores them, so its bytes hold 8× more of them.

Reads follow the schedule: every engine walks one layer's timesteps in order
(forward in time, backward in reverse time), so a miss reads a whole block of
neighbouring timesteps of that tensor in one HDF5 call — chunk-aligned, since
a trace stores one timestep per chunk — sized to a quarter of the cache so a
block never evicts itself. Blocks make reads rare, so dataset handles are not
kept between them: each open handle holds HDF5's 1 MiB chunk cache, which
(measured on mnist-cnn, batch 80) cost more memory than the whole tile cache.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from tlm.layout import INPUT
from traces.network import Network
from traces.schema import unpack_bits

TENSOR_NAMES = {"spikes": "output_spikes", "h": "h_mask", "du": "du_nonzero"}
BLOCK_SHARE = 4  # a block read fills at most 1/BLOCK_SHARE of the cache

Key = tuple[str, int, int]  # (tensor, layer, timestep)


class TraceView:
    """Read-through LRU cache of (tensor, layer, timestep) → bit-packed uint8 [B, bytes].

    Tiles are kept as stored (1 bit per neuron): the same bytes hold 8× the tiles of
    unpacked booleans, and each request unpacks only the samples it asks for.
    """

    def __init__(self, reader, iteration: int, cache_bytes: int = 4 << 20) -> None:
        self.reader, self.iteration, self.cache_bytes = reader, iteration, cache_bytes
        self.network: Network = reader.meta.network
        self.timesteps: int = reader.meta.timesteps
        self._cache: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._cached_bytes = 0
        self.hits = self.misses = self.reads = 0

    def get(self, tensor: str, layer: int, timestep: int,
            samples: slice = slice(None)) -> np.ndarray:
        """bool [samples, *shape] of one tensor of one layer at one timestep."""
        _, _, shape = self._source(tensor, layer)
        return unpack_bits(self.packed(tensor, layer, timestep)[samples], shape)

    def packed(self, tensor: str, layer: int, timestep: int) -> np.ndarray:
        key = (tensor, layer, timestep)
        value = self._cache.get(key)
        if value is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return value
        self.misses += 1
        return self._read_block(tensor, layer, timestep)

    def _source(self, tensor: str, layer: int) -> tuple[int, str, tuple[int, ...]]:
        """(file layer, dataset name, unpacked sample shape) of one engine-side tensor."""
        if layer == INPUT:
            return 0, "input_spikes", self.network.layers[0].in_shape
        return layer, TENSOR_NAMES[tensor], self.network.layers[layer].out_shape

    def _read_block(self, tensor: str, layer: int, timestep: int) -> np.ndarray:
        """Read the aligned block of timesteps holding ``timestep``; cache what is not cached."""
        file_layer, name, _ = self._source(tensor, layer)
        dataset = self.reader.dataset(self.iteration, file_layer, name)
        tile_bytes = max(1, int(np.prod(dataset.shape[1:])))
        span = max(1, min(self.timesteps, self.cache_bytes // BLOCK_SHARE // tile_bytes))
        start = timestep // span * span
        stop = min(self.timesteps, start + span)
        packed = self.reader.read_packed_span(dataset, start, stop)
        self.reads += 1
        wanted = None
        for offset, t in enumerate(range(start, stop)):
            value = self._cache.get((tensor, layer, t))
            if value is None:
                value = packed[offset].copy()  # not a view: it would pin the block
                self._put((tensor, layer, t), value)
            if t == timestep:
                wanted = value
        return wanted

    def _put(self, key: Key, value: np.ndarray) -> None:
        self._cache[key] = value
        self._cached_bytes += value.nbytes
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, evicted = self._cache.popitem(last=False)
            self._cached_bytes -= evicted.nbytes

    def input_of(self, layer: int, tensor: str, timestep: int, samples: slice) -> np.ndarray:
        """Layer ``layer``'s input-side view of layer-1's tensor, shaped to its in_shape."""
        spec = self.network.layers[layer]
        value = self.get(tensor, layer - 1, timestep, samples)
        return value.reshape((value.shape[0],) + spec.in_shape)

    def output_of(self, layer: int, tensor: str, timestep: int, samples: slice) -> np.ndarray:
        return self.get(tensor, layer, timestep, samples)
