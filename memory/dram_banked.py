"""The banked DRAM timing model: open rows, bank-level parallelism, refresh.

See memory/dram.py for the model in words. A transaction's blocks are
classified against the open-row state of their banks, vectorised over the
period grid of the address map (``access``); a transaction of one block, or of a
few blocks on as many banks, takes a plain-Python path bank by bank
(memory/dram_banked_scalar.py) that gives the same result to the last bit.
What depends on the tile's shape alone is derived once per shape
(memory/dram_banked_tiles.py), and each touched channel's bus, counters and
bandwidth window are done in one pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from memory.address_map import AddressMap, TileShape
from memory.dram_banked_scalar import FEW_BLOCKS, PositionKeys, access_one, reserve_few
from memory.dram_records import AccessRecord
from memory.dram_banked_tiles import Masks, Tile, Tiles
from memory.presets import DramPreset

if TYPE_CHECKING:
    from memory.dram import Dram


class _Cycles(NamedTuple):
    """The preset's timing in accelerator cycles (floats)."""

    burst: float
    rtrs: float
    act_window: float     # max(tRRD_S, tFAW / 4)
    ccd_l: float          # max(tCCD_L, t_burst)
    rrd_l: float
    rc: float
    hit: float
    miss: float
    conflict: float


def to_cycles(preset: DramPreset, clock_mhz: float) -> _Cycles:
    t, c = preset.timing, clock_mhz / 1e3
    burst = preset.burst_ns * c
    return _Cycles(burst=burst, rtrs=t.t_rtrs_ns * c,
                   act_window=max(t.t_rrd_s_ns, t.t_faw_ns / 4) * c,
                   ccd_l=max(t.t_ccd_l_ns * c, burst), rrd_l=t.t_rrd_l_ns * c,
                   rc=t.t_rc_ns * c, hit=t.latency_hit_ns * c, miss=t.latency_miss_ns * c,
                   conflict=t.latency_conflict_ns * c)


class ChannelState:
    """Server free times and open rows of every channel.

    Channel-level state (bus free time, last rank) is plain lists, one entry per
    channel: a transaction touches a handful of channels, and plain Python beats
    numpy on so few elements. The rank, bank-group and bank servers share one
    vector ``free`` (so one ``advance`` serves them all), each part keyed as the
    address map's ``Layout`` keys it (``... * channels + channel``), so
    ``reshape(-1, channels)`` gathers each channel's servers in one column.
    Banks are keyed by their position in a period.

    A refresh closes every row. Rather than stamp each open row with its epoch,
    a channel's rows are closed (``-1``) when a transaction finds it in a later
    refresh epoch than its last one: epochs never go back on a channel, as its
    bus free time never does.
    """

    def __init__(self, amap: AddressMap) -> None:
        ch = amap.channels
        self.bus_free = [0.0] * ch
        self.last_rank = [-1] * ch
        ranks, groups = amap.ranks * ch, amap.ranks * amap.bank_groups * ch
        self.free = np.zeros(ranks + groups + amap.period_blocks)
        self.sizes = (ranks, groups, amap.period_blocks)
        self.open_row = np.full(amap.period_blocks, -1, dtype=np.int64)
        self.row_epoch = [0] * ch        # the refresh epoch of each channel's open rows

    def enter_epoch(self, ch: int, epoch: int) -> None:
        """Close the channel's rows if a refresh came since its last transaction."""
        if epoch != self.row_epoch[ch]:
            self.row_epoch[ch] = epoch
            self.open_row.reshape(-1, len(self.row_epoch))[:, ch] = -1


class _Rows(NamedTuple):
    """Row-buffer outcome of one transaction, per period position (bank)."""

    first_kind: np.ndarray   # 0 hit, 1 miss, 2 conflict, of the bank's first block
    kind_list: list[int]     # the same as plain ints (read a few at a time)
    activations: np.ndarray
    conflicts: np.ndarray | int   # an int: the same in every used bank (all are used)
    blocks: np.ndarray
    used_per_channel: list[int]


class BankedModel:
    """Rows, banks, bank groups, ranks and refresh; the state lives in the ``Dram``."""

    def __init__(self, dram: "Dram") -> None:
        self.preset, self.address_map, self.refresh = dram.preset, dram.address_map, dram.refresh
        self.cycles = c = dram.cycles
        self.lookahead_cycles = dram.lookahead_cycles
        self._state, self._counters, self._windows = dram._state, dram._counters, dram._windows
        preset = self.preset
        # cached from the preset: per-block group work without / with an activation
        full = self.address_map.interleave_bytes // preset.burst_bytes
        self._group_work = (full * c.ccd_l, max(full * c.ccd_l, c.rrd_l))
        self._first_prefix = [c.hit - c.hit, c.miss - c.hit, c.conflict - c.hit]
        sizes = self._state.sizes
        self._server_unit = np.repeat([c.act_window, c.ccd_l, c.rc], sizes)
        lay, (ranks, groups, banks) = self.address_map.layout, sizes
        self._server_of = np.concatenate((lay.rank, lay.group + ranks,
                                          np.arange(banks) + ranks + groups))
        self._work_unit = np.repeat([c.act_window, 1.0, c.rc], sizes)
        self._kind_key = 3 * self.address_map.layout.channel
        self._full_bursts = full
        self.keys = PositionKeys(self)
        self._one_block = dram.fast_path   # False: every transaction takes the vector path
        # blocks below which a transaction is served bank by bank (each block on its own bank)
        self._tiles = Tiles(self, min(FEW_BLOCKS, self.address_map.period_blocks) * dram.fast_path)
        self._interleave, self._period_blocks = full * preset.burst_bytes, self.address_map.period_blocks

    def access(self, address: int, length: int, arrival: int, is_read: bool) -> AccessRecord:
        """Serve a transaction of ``length > 0`` bytes: its record; servers, counters and
        bandwidth windows are updated."""
        first = address // self._interleave
        if self._one_block and first == (address + length - 1) // self._interleave:
            return access_one(self, address, length, first, arrival, is_read)
        tile = self._tiles.get(address, length)
        period = first // self._period_blocks
        times = self._open(tile, float(arrival))
        if tile.masks is None:
            served = reserve_few(self, tile.shape, period, times[1])
        else:
            rows = self._classify(tile, period)
            aux = self._serve_servers(tile, period, rows, times[1])
            served = ([rows.kind_list[pos] for pos in tile.shape.head_pos], aux,
                      *self._row_counts(rows))
        return self._close(tile, arrival, is_read, times, served)

    def _open(self, tile: Tile, arr: float) -> tuple[list[float], list[float]]:
        """Per channel (lists over all channels): when its bus could start the tile, and
        when its other servers may start (the lookahead); rows a refresh closed are closed."""
        st, ch_n, skip = self._state, self.preset.channels, self.refresh.skip_one
        bus_free, row_epoch, lookahead = st.bus_free, st.row_epoch, self.lookahead_cycles
        start, ready = [arr] * ch_n, [arr] * ch_n
        for ch in tile.channels:
            free = bus_free[ch]
            start[ch], epoch = skip(free if free > arr else arr)
            if epoch != row_epoch[ch]:
                st.enter_epoch(ch, epoch)
            # the controller prepares rows only for requests within its lookahead
            free -= lookahead
            ready[ch] = free if free > arr else arr
        return start, ready

    def _close(self, tile: Tile, arrival: int, is_read: bool,
               times: tuple[list[float], list[float]],
               served: tuple[list[int], list[float], list[int], list[int]]) -> AccessRecord:
        """Each touched channel's data bus, once its other servers (``aux``) are known, in
        one pass with the rank switches, the counters, the windows and the record."""
        st, c, shape = self._state, self.cycles, tile.shape
        start, ready = times
        head_kind, aux, misses, conflicts = served
        bus_free, last_rank, exact = st.bus_free, st.last_rank, self.refresh.advance_exact
        prefix, rtrs, read_tail = self._first_prefix, c.rtrs, max(c.hit - c.burst, 0.0)
        starts, ends, waits, busy, hits = [], [], [], [], []
        done, critical = -1.0, -1
        for ch, bus_work, (first_rank, within, rank) in zip(tile.channels, tile.bus_work,
                                                             tile.ranks):
            previous = last_rank[ch]
            work = bus_work + ((previous >= 0 and first_rank != previous) + within) * rtrs
            last_rank[ch] = rank
            t = start[ch]
            end = bus_free[ch] = max(max(exact(t, work), aux[ch]),
                                     ready[ch] + prefix[head_kind[ch]] + work)
            finish = end + read_tail if is_read else end
            if finish >= done:    # the last channel to finish (the highest on a tie)
                done, critical = finish, ch
            starts.append(t)
            ends.append(end)
            waits.append(t - arrival)
            busy.append(work)
            hits.append(shape.bursts[ch] - misses[ch] - conflicts[ch])
        return self._account(tile, arrival, is_read, (starts, ends, waits, busy),
                             (hits, misses, conflicts), (done, critical))

    def _account(self, tile: Tile, arrival: int, is_read: bool,
                 times: tuple[list[float], list[float], list[float], list[float]],
                 counts: tuple[list[int], list[int], list[int]],
                 last: tuple[float, int]) -> AccessRecord:
        """Counters and windows of the touched channels (``times`` and ``hits`` parallel to
        ``tile.channels``; ``misses`` and ``conflicts`` over all channels); the record."""
        starts, ends, waits, busy = times
        hits, misses, conflicts = counts
        chans, nbytes = tile.channels, tile.shape.nbytes
        self._counters.add(chans, [nbytes[ch] for ch in chans], is_read,
                                (hits, [misses[ch] for ch in chans],
                                 [conflicts[ch] for ch in chans]), waits, busy)
        self._windows.add(chans, starts, ends, [nbytes[ch] for ch in chans])
        done, critical = last
        return AccessRecord(arrival, round(min(starts)), round(max(ends)),
                            max(arrival, round(done)), round(max(starts) - arrival),
                            len(chans), sum(hits), sum(misses[ch] for ch in chans),
                            sum(conflicts[ch] for ch in chans), critical_channel=critical)

    def _row_counts(self, rows: _Rows) -> tuple[list[int], list[int]]:
        """Misses and conflicts per channel: first blocks by kind, and later row crossings."""
        ch_n = self.preset.channels
        kinds = np.bincount(rows.first_kind + self._kind_key, minlength=3 * ch_n).tolist()
        misses = kinds[1::3]
        if isinstance(rows.conflicts, int):   # the same crossings in every used bank
            d, used = rows.conflicts, rows.used_per_channel
            return misses, [k + d * n for k, n in zip(kinds[2::3], used)]
        crossings = np.bincount(self.address_map.layout.channel, rows.conflicts, ch_n).tolist()
        return misses, [k + int(x) for k, x in zip(kinds[2::3], crossings)]

    def _classify(self, tile: Tile, period: int) -> _Rows:
        """Row hits, misses and conflicts of every bank the transaction touches.

        A bank's blocks are one per grid row (period), in address order, and a
        grid row has one DRAM row number: the bank's first block meets the row
        left open (unless a refresh closed it), and each later one conflicts
        exactly when it crosses into the next DRAM row.
        """
        open_row, masks = self._state.open_row, tile.masks
        row_first, row_last = self._grid_rows(period, tile.shape.periods, masks)
        # 0 hit, 1 miss (closed), 2 conflict; arithmetic, as np.where is costly on small arrays
        activates = open_row != row_first
        if masks.all_used:
            kind = activates * (1 + (open_row >= 0))
            open_row[:] = row_last
        else:
            activates &= masks.used
            kind = activates * (1 + (open_row >= 0))
            np.copyto(open_row, row_last, where=masks.used)
        uniform = masks.all_used and isinstance(row_first, int) and isinstance(row_last, int)
        conflicts = row_last - row_first if uniform else masks.used * (row_last - row_first)
        return _Rows(kind, kind.tolist(), activates + conflicts, conflicts, tile.blocks,
                     masks.used_per_channel)

    def _grid_rows(self, period: int, periods: int, masks: Masks) -> tuple[Any, Any]:
        """DRAM row of each bank's first and last block: one number where all banks agree."""
        per_row, top = self.address_map.blocks_per_row, period + periods - 1
        row_first = (period // per_row if period // per_row == (period + 1) // per_row
                     else (period + masks.first_period) // per_row)
        row_last = (top // per_row if top // per_row == (top - 1) // per_row
                    else (top - masks.after_last) // per_row)
        return row_first, row_last

    def _serve_servers(self, tile: Tile, period: int, rows: _Rows,
                       ready: list[float]) -> list[float]:
        """Per channel: when the ranks, bank groups and banks finish their share."""
        c, st, ch_n = self.cycles, self._state, self.preset.channels
        acts = rows.activations
        plain, activating = self._group_work
        group_work = (rows.blocks - acts) * plain + acts * activating
        self._partial_block_group_work(tile.shape, period, rows, group_work)
        # one bincount for all servers: activations per rank and per bank, group work per
        # group (summed in ascending position), then scaled by each server's unit
        work = np.bincount(self._server_of, np.concatenate((acts, group_work, acts)),
                           len(self._work_unit)) * self._work_unit
        used = work > 0
        # servers are keyed ``... * channels + channel``: a row of ``channels`` per server
        start = np.maximum(st.free.reshape(-1, ch_n), np.array(ready)).reshape(-1)
        finish = self.refresh.advance(start, work)
        np.copyto(st.free, finish, where=used)
        bound = (finish - self._server_unit + c.burst).reshape(-1, ch_n)
        return bound.max(axis=0, initial=0.0, where=used.reshape(-1, ch_n)).tolist()

    def partial_block(self, bursts: int, activates: bool) -> float:
        """Group work of a block of ``bursts`` minus that of a full block (the first and
        last block of a tile may be partial); the one rule for both paths."""
        c = self.cycles
        return (max(bursts * c.ccd_l, activates * c.rrd_l)
                - max(self._full_bursts * c.ccd_l, activates * c.rrd_l))

    def _partial_block_group_work(self, shape: TileShape, period: int, rows: _Rows,
                                  group_work: np.ndarray) -> None:
        """Correct the group work of the first and last blocks, which may be partial."""
        full, kind = self._full_bursts, rows.kind_list
        if shape.head_bursts != full:
            pos, act = shape.first_pos, kind[shape.first_pos] > 0
            group_work[pos] += self.partial_block(shape.head_bursts, act)
        if shape.blocks > 0 and shape.tail_bursts != full:
            pos = shape.last_pos
            if rows.blocks[pos] == 1:   # the bank's only block
                act = kind[pos] > 0
            else:
                act = (period + shape.periods - 1) % self.address_map.blocks_per_row == 0
            group_work[pos] += self.partial_block(shape.tail_bursts, act)
