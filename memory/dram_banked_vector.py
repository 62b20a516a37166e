"""The banked DRAM model's vector path: every bank of a period at once, in numpy.

A tile's blocks form a grid of periods (rows) by period positions (columns,
one bank each; memory/address_map.py): a bank's blocks are one per grid row,
in address order, and a grid row has one DRAM row number. So a bank's first
block meets the row left open (unless a refresh closed it), and each later one
conflicts exactly when it crosses into the next DRAM row; the work of every
rank, bank-group and bank server follows, and so does their advance past
refreshes — a few dozen numpy calls over the ``period_blocks`` banks and their
servers, whatever the tile's size.

On arrays this small a numpy call costs mostly its overhead, so the constants
are arrays (a Python float operand costs a conversion on every call), the
servers are advanced in a scratch array, and what a tile's row outcomes make
of the servers' work is kept (``VectorPath``). Bank-group sums are ``np.bincount``'s, in ascending
position: the plain-Python paths (memory/dram_banked_scalar.py) sum in the
same order, as float addition is not associative.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from memory.dram_banked_tiles import Masks, Tile

if TYPE_CHECKING:
    from memory.dram_banked import BankedModel


class _Rows(NamedTuple):
    """Row-buffer outcome of one transaction, per period position (bank)."""

    first_kind: np.ndarray   # 0 hit, 1 miss, 2 conflict, of the bank's first block
    kind_list: list[int]     # the same as plain ints (read a few at a time)
    activations: np.ndarray
    conflicts: np.ndarray | int   # an int: the same in every used bank (all are used)
    blocks: np.ndarray
    used_per_channel: tuple[int, ...]


class Outcome(NamedTuple):
    """What a tile's rows make of its servers, before any server is advanced."""

    work: np.ndarray          # per server
    used: np.ndarray          # work > 0
    unit: np.ndarray          # the server's unit of work; infinite where it has none
    work_max: float
    head_kind: tuple[int, ...]   # per channel: the kind of its first block
    misses: tuple[int, ...]      # per channel
    conflicts: tuple[int, ...]


class VectorPath:
    """Classify, work out and serve a tile's banks; the state is the model's.

    What the servers are to do follows from the tile and its banks' row outcomes
    (and, through a partial last block, whether the tile ends on a row's first
    block): DMA tiles repeat, and so do their outcomes, so the work is derived
    once per such key and kept (``Tiles.outcomes``); the servers' advance
    depends on their state and is done every time.
    """

    def __init__(self, model: "BankedModel") -> None:
        self.model, self.refresh = model, model.refresh
        self._state, amap, c = model._state, model.address_map, model.cycles
        self.channels, self.blocks_per_row = amap.channels, amap.blocks_per_row
        lay, sizes = amap.layout, self._state.sizes
        ranks, groups, banks = sizes
        self._server_of = np.concatenate((lay.rank, lay.group + ranks,
                                          np.arange(banks) + ranks + groups))
        self._work_unit = np.repeat([c.act_window, 1.0, c.rc], sizes)
        self._server_unit = np.repeat([c.act_window, c.ccd_l, c.rc], sizes)
        self._kind_key = 3 * lay.channel
        plain, activating = model._group_work
        self._plain, self._activating = np.array(plain), np.array(activating)
        self._burst, self._zero, self._row_zero = np.array(c.burst), np.array(0.0), np.array(0)
        self._outcomes = model._tiles.outcomes
        # scratch space for the servers' advance (numpy calls this small cost their allocation)
        self._buffer = np.empty(len(self._work_unit))

    def serve(self, tile: Tile, period: int, ready: list[float]
              ) -> tuple[tuple[int, ...], list[float], tuple[int, ...], tuple[int, ...]]:
        """The kind of each channel's first block, the other servers' bound (``aux``)
        per channel, and misses and conflicts per channel (over all channels)."""
        open_row, masks = self._state.open_row, tile.masks
        row_first, row_last = self._grid_rows(period, tile.shape.periods, masks)
        # 0 hit, 1 miss (closed), 2 conflict: arithmetic, as np.where is costly on small arrays
        activates = open_row != row_first
        if not masks.all_used:
            activates &= masks.used
        kind = np.add(activates, activates & (open_row >= self._row_zero), dtype=np.int8)
        # later blocks' row crossings: one number where every used bank crosses as many
        if type(row_first) is type(row_last) is int:
            crossings = row_last - row_first
            conflicts = crossings if masks.all_used else masks.used * crossings
        else:
            conflicts = masks.used * (row_last - row_first)
            crossings = conflicts.tobytes()
        top = period + tile.shape.periods - 1     # ``_partial_blocks`` reads its row
        key = (tile.key, kind.tobytes(), crossings, top % self.blocks_per_row == 0)
        outcome = self._outcomes.get(key)
        if outcome is None:
            rows = _Rows(kind, kind.tolist(), activates + conflicts, conflicts, tile.blocks,
                         masks.used_per_channel)
            outcome = self._outcomes.keep(key, self._outcome(tile, period, rows))
        if masks.all_used:
            open_row[:] = row_last
        else:
            np.copyto(open_row, row_last, where=masks.used)
        return outcome.head_kind, self._advance(outcome, ready), outcome.misses, outcome.conflicts

    def _outcome(self, tile: Tile, period: int, rows: _Rows) -> Outcome:
        work, used = self._work(tile, period, rows)
        unit = np.where(used, self._server_unit, np.inf)
        for array in (work, used, unit):
            array.setflags(write=False)
        misses, conflicts = self._row_counts(rows)
        return Outcome(work, used, unit, float(work.max()),
                       tuple([rows.kind_list[pos] for pos in tile.shape.head_pos]), tuple(misses),
                       tuple(conflicts))

    def _grid_rows(self, period: int, periods: int, masks: Masks) -> tuple[Any, Any]:
        """DRAM row of each bank's first and last block: one number where all banks agree."""
        per_row, top = self.blocks_per_row, period + periods - 1
        row_first = (period // per_row if period // per_row == (period + 1) // per_row
                     else (period + masks.first_period) // per_row)
        row_last = (top // per_row if top // per_row == (top - 1) // per_row
                    else (top - masks.after_last) // per_row)
        return row_first, row_last

    def _work(self, tile: Tile, period: int, rows: _Rows) -> tuple[np.ndarray, np.ndarray]:
        """Each server's work, and which servers have any."""
        acts = rows.activations
        group_work = (rows.blocks - acts) * self._plain + acts * self._activating
        self._partial_blocks(tile, period, rows, group_work)
        # one bincount for all servers: activations per rank and per bank, group work per
        # group (summed in ascending position), then scaled by each server's unit
        work = np.bincount(self._server_of, np.concatenate((acts, group_work, acts)),
                           len(self._work_unit))
        work *= self._work_unit
        return work, work > self._zero

    def _partial_blocks(self, tile: Tile, period: int, rows: _Rows,
                        group_work: np.ndarray) -> None:
        """Correct the group work of the first and last blocks, which may be partial."""
        shape, model, kind = tile.shape, self.model, rows.kind_list
        full = model._full_bursts
        if shape.head_bursts != full:
            pos, act = shape.first_pos, kind[shape.first_pos] > 0
            group_work[pos] += model.partial_block(shape.head_bursts, act)
        if shape.blocks > 0 and shape.tail_bursts != full:
            pos = shape.last_pos
            if rows.blocks[pos] == 1:   # the bank's only block
                act = kind[pos] > 0
            else:
                act = (period + shape.periods - 1) % self.blocks_per_row == 0
            group_work[pos] += model.partial_block(shape.tail_bursts, act)

    def _advance(self, outcome: Outcome, ready: list[float]) -> list[float]:
        """Per channel: when the ranks, bank groups and banks finish their share (their
        last unit of work, less the burst it ends with)."""
        buffer, free, ch_n = self._buffer, self._state.free, self.channels
        # servers are keyed ``... * channels + channel``: a row of ``channels`` per server
        # (views made afresh: a copy of the model would turn a kept view into an array)
        per_channel = buffer.reshape(-1, ch_n)
        np.maximum(free.reshape(-1, ch_n), np.array(ready), out=per_channel)
        finish = self.refresh.advance(buffer, outcome.work, min(ready), outcome.work_max,
                                      out=buffer)
        np.copyto(free, finish, where=outcome.used)
        finish -= outcome.unit        # an idle server drops out at minus infinity
        finish += self._burst
        return per_channel.max(axis=0, initial=0.0).tolist()

    def _row_counts(self, rows: _Rows) -> tuple[list[int], list[int]]:
        """Misses and conflicts per channel: first blocks by kind, and later row crossings."""
        ch_n = self.channels
        kinds = np.bincount(rows.first_kind + self._kind_key, minlength=3 * ch_n).tolist()
        misses = kinds[1::3]
        if isinstance(rows.conflicts, int):   # the same crossings in every used bank
            d, used = rows.conflicts, rows.used_per_channel
            return misses, [k + d * n for k, n in zip(kinds[2::3], used)]
        crossings = np.bincount(self.model.address_map.layout.channel, rows.conflicts,
                                ch_n).tolist()
        return misses, [k + int(x) for k, x in zip(kinds[2::3], crossings)]
