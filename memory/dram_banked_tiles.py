"""What the banked DRAM model derives once per tile shape.

DMA tiles repeat shapes: where the first block sits in a period, its offset
inside that block and the length (``AddressMap.shape_key``). Everything here
depends on the shape alone — the channels touched and their bursts and bytes
(``AddressMap.tile_shape``), each channel's data-bus work before rank switches,
its first and last rank, and the masks of the period positions the tile uses —
so the model derives it once per shape and keeps it (``Tiles``, bounded), and
keeps beside it what the vector path derived from a tile and its banks' row
outcomes (``Outcomes``). Kept data are tuples and arrays: the garbage collector
has nothing to walk in them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from memory.address_map import AddressMap, TileShape

if TYPE_CHECKING:
    from memory.dram_banked import BankedModel

# shapes and outcomes kept; past that a cache starts afresh (memory stays bounded)
MAX_TILES = 4096
MAX_OUTCOMES = 2048


class Masks(NamedTuple):
    """Which period positions a tile uses, from its first and last grid positions."""

    first_period: np.ndarray   # its first block is in the second grid row
    after_last: np.ndarray     # its last block is in the next-to-last grid row
    edges: np.ndarray          # first_period + after_last: blocks = periods - edges
    used: np.ndarray
    all_used: bool
    used_per_channel: tuple[int, ...]


class Tile(NamedTuple):
    """A tile shape and what the banked model derives from it; per-channel tuples run
    parallel to ``channels`` (the channels touched, ascending)."""

    key: tuple[int, int, int]  # ``AddressMap.shape_key``
    shape: TileShape
    channels: tuple[int, ...]
    bursts: tuple[int, ...]
    total_bursts: int
    nbytes: tuple[int, ...]
    bus_work: tuple[float, ...]   # bursts * t_burst
    ranks: tuple[tuple[int, int, int], ...] | None   # first rank, switches inside, last
                                                     # rank (None: one rank, no switch)
    masks: Masks | None        # for the vector path; None: served bank by bank
    blocks: np.ndarray | None  # per period position: the tile's blocks in that bank


class _Masks:
    """Masks per (first and last grid position, grid height 1, 2 or 3+).

    Built from per-position rows that are themselves cached (a position's "first
    block is in the second grid row" row depends on the first position only).
    """

    def __init__(self, amap: AddressMap) -> None:
        self.positions, self.channels = np.arange(amap.period_blocks), amap.channels
        self.all_used = np.ones(amap.period_blocks, dtype=bool)
        self.all_used.setflags(write=False)
        self.full_per_channel = (amap.period_blocks // amap.channels,) * amap.channels
        self._masks: dict[tuple[int, int, int], Masks] = {}
        self._before: dict[int, np.ndarray] = {}
        self._after: dict[int, np.ndarray] = {}

    def get(self, first_pos: int, last_pos: int, periods: int) -> Masks:
        key = (first_pos, last_pos, min(periods, 3))
        masks = self._masks.get(key)
        if masks is None:
            masks = self._masks[key] = self._derive(*key)
        return masks

    def _derive(self, first_pos: int, last_pos: int, periods_class: int) -> Masks:
        first_period = self._row(self._before, first_pos, self.positions < first_pos)
        after_last = self._row(self._after, last_pos, self.positions > last_pos)
        edges = first_period + after_last
        edges.setflags(write=False)
        if periods_class >= 3:   # from the third grid row on, every position is used
            return Masks(first_period, after_last, edges, self.all_used, True,
                         self.full_per_channel)
        used = edges < periods_class
        used.setflags(write=False)
        return Masks(first_period, after_last, edges, used, bool(used.all()),
                     tuple(used.reshape(-1, self.channels).sum(axis=0).tolist()))

    @staticmethod
    def _row(cache: dict[int, np.ndarray], pos: int, mask: np.ndarray) -> np.ndarray:
        row = cache.get(pos)
        if row is None:
            row = cache[pos] = mask.astype(np.int64)
            row.setflags(write=False)
        return row


class Outcomes(dict):
    """What the vector path derived from a tile and its row outcomes: at most ``limit``
    (none: every outcome is derived afresh)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: tuple, outcome: tuple) -> tuple:
        if len(self) >= self.limit:
            self.clear()
        if self.limit:
            self[key] = outcome
        return outcome


class Tiles:
    """The ``Tile`` of every shape met so far, and what the vector path derived for
    them (``outcomes``, keyed by the tile's key and its own); ``cache`` False: nothing
    is kept, everything is derived afresh."""

    def __init__(self, model: "BankedModel", few_blocks: int, cache: bool = True) -> None:
        self.address_map = amap = model.address_map
        self._t_burst = model.cycles.burst
        self._few_blocks = few_blocks      # tiles of fewer blocks are served bank by bank
        self._masks = _Masks(amap)
        self._per_rank = amap.bank_groups * amap.banks_per_group
        self._tiles: dict[tuple[int, int, int], Tile] = {}
        self._limit = MAX_TILES if cache else 0
        self.outcomes = Outcomes(MAX_OUTCOMES if cache else 0)

    def get(self, address: int, length: int) -> Tile:
        key = self.address_map.shape_key(address, length)
        tile = self._tiles.get(key)
        if tile is None:
            tile = self._derive(key, address, length)
            if len(self._tiles) >= self._limit:
                self._tiles.clear()
            if self._limit:
                self._tiles[key] = tile
        return tile

    def _derive(self, key: tuple[int, int, int], address: int, length: int) -> Tile:
        amap = self.address_map
        shape = amap.tile_shape(address, length)
        chans, per_rank, ranks = shape.channels, self._per_rank, amap.ranks
        rank_info = None
        if ranks > 1:
            firsts = [shape.first_local[ch] // per_rank for ch in chans]
            lasts = [shape.last_local[ch] // per_rank for ch in chans]
            rank_info = tuple([(f % ranks, l - f, l % ranks) for f, l in zip(firsts, lasts)])
        bursts, nbytes = shape.bursts, shape.nbytes      # parallel to chans if all are touched
        if len(chans) < len(bursts):
            bursts, nbytes = tuple([bursts[ch] for ch in chans]), tuple([nbytes[ch] for ch in chans])
        masks = blocks = None
        if shape.blocks >= self._few_blocks:
            masks = self._masks.get(shape.first_pos, shape.last_pos, shape.periods)
            blocks = shape.periods - masks.edges
            blocks.setflags(write=False)
        return Tile(key, shape, chans, bursts, sum(bursts), nbytes,
                    tuple([b * self._t_burst for b in bursts]), rank_info, masks, blocks)
