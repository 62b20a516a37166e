"""The banked DRAM timing model: open rows, bank-level parallelism, refresh.

See memory/dram.py for the model in words. A transaction's blocks are
classified against the open-row state of their banks, vectorised over the
period grid of the address map (``reserve``); a transaction of one block, or of a
few blocks on as many banks, takes a plain-Python path bank by bank
(memory/dram_banked_scalar.py) that gives the same result to the last bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from memory.address_map import AddressMap, Span
from memory.dram_banked_scalar import FEW_BLOCKS, PositionKeys, access_one, reserve_few
from memory.dram_records import AccessRecord, Schedule
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
    """

    def __init__(self, amap: AddressMap) -> None:
        ch = amap.channels
        self.bus_free = [0.0] * ch
        self.last_rank = [-1] * ch
        ranks, groups = amap.ranks * ch, amap.ranks * amap.bank_groups * ch
        self.free = np.zeros(ranks + groups + amap.period_blocks)
        self.sizes = (ranks, groups, amap.period_blocks)
        self.open_row = np.full(amap.period_blocks, -1, dtype=np.int64)
        self.row_epoch = np.zeros(amap.period_blocks, dtype=np.int64)


class _Rows(NamedTuple):
    """Row-buffer outcome of one transaction, per period position (bank)."""

    first_kind: np.ndarray   # 0 hit, 1 miss, 2 conflict, of the bank's first block
    kind_list: list[int]     # the same as plain ints (read a few at a time)
    activations: np.ndarray
    conflicts: np.ndarray | int   # an int: the same in every used bank (all are used)
    blocks: np.ndarray
    used_per_channel: list[int]


class _Shape(NamedTuple):
    """Which period positions a transaction uses, from its first and last grid positions."""

    first_period: np.ndarray   # its first block is in the second grid row
    after_last: np.ndarray     # its last block is in the next-to-last grid row
    edges: np.ndarray          # first_period + after_last: blocks = periods - edges
    used: np.ndarray
    all_used: bool
    used_per_channel: list[int]


class _Shapes:
    """Tile shapes (first and last grid position, grid height 1, 2 or 3+) and their masks.

    DMA tiles repeat shapes, so each shape is derived once; its masks are built
    from per-position rows that are themselves cached (a position's "first block
    is in the second grid row" row depends on the first position only).
    """

    def __init__(self, amap: AddressMap) -> None:
        self.positions, self.channels = np.arange(amap.period_blocks), amap.channels
        self.all_used = np.ones(amap.period_blocks, dtype=bool)
        self.all_used.setflags(write=False)
        self.full_per_channel = [amap.period_blocks // amap.channels] * amap.channels
        self._shapes: dict[tuple[int, int, int], _Shape] = {}
        self._before: dict[int, np.ndarray] = {}
        self._after: dict[int, np.ndarray] = {}

    def get(self, first_pos: int, last_pos: int, periods: int) -> _Shape:
        key = (first_pos, last_pos, min(periods, 3))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = self._derive(*key)
        return shape

    def _derive(self, first_pos: int, last_pos: int, periods_class: int) -> _Shape:
        first_period = self._row(self._before, first_pos, self.positions < first_pos)
        after_last = self._row(self._after, last_pos, self.positions > last_pos)
        edges = first_period + after_last
        edges.setflags(write=False)
        if periods_class >= 3:   # from the third grid row on, every position is used
            return _Shape(first_period, after_last, edges, self.all_used, True,
                          self.full_per_channel)
        used = edges < periods_class
        used.setflags(write=False)
        return _Shape(first_period, after_last, edges, used, bool(used.all()),
                      used.reshape(-1, self.channels).sum(axis=0).tolist())

    @staticmethod
    def _row(cache: dict[int, np.ndarray], pos: int, mask: np.ndarray) -> np.ndarray:
        row = cache.get(pos)
        if row is None:
            row = cache[pos] = mask.astype(np.int64)
            row.setflags(write=False)
        return row


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
        self._kind_key = 3 * self.address_map.layout.channel
        self._full_bursts = full
        self.keys = PositionKeys(self)
        self._shapes = _Shapes(self.address_map)
        # blocks below which a transaction is served bank by bank (each block on its own bank)
        self._few_blocks = min(FEW_BLOCKS, self.address_map.period_blocks) * dram.fast_path

    def reserve(self, sp: Span, arrival: int, is_read: bool) -> Schedule:
        st, ch_n, arr = self._state, self.preset.channels, float(arrival)
        chans, bus_free, skip = sp.channels, st.bus_free, self.refresh.skip_one
        lookahead = self.lookahead_cycles
        start, epoch, ready = [arr] * ch_n, [0] * ch_n, [arr] * ch_n
        for ch in chans:
            free = bus_free[ch]
            start[ch], epoch[ch] = skip(max(free, arr))
            # the controller prepares rows only for requests within its lookahead
            ready[ch] = max(arr, free - lookahead)
        if sp.last - sp.first < self._few_blocks:
            head_kind, aux, misses, conflicts = reserve_few(self, sp, (start, epoch, ready))
        else:
            rows = self._classify(sp, epoch, chans)
            aux = self._serve_servers(sp, rows, ready)
            head_kind = [rows.kind_list[pos] for pos in sp.head_pos]
            misses, conflicts = self._row_counts(rows)
        end, done, busy = self._reserve_buses(sp, (start, ready, aux), head_kind, is_read)
        hits = [b - m - k for b, m, k in zip(sp.bursts, misses, conflicts)]
        return Schedule(chans, start, end, done, (hits, misses, conflicts), busy)

    def _reserve_buses(self, sp: Span, times: tuple[list[float], list[float], list[float]],
                       head_kind: list[int], is_read: bool
                       ) -> tuple[list[float], list[float], list[float]]:
        """Each touched channel's data bus, once its other servers (``aux``) are known."""
        st, c, ch_n, chans = self._state, self.cycles, self.preset.channels, sp.channels
        start, ready, aux = times
        switches = self._rank_switches(sp, chans)
        bursts, bus_free, exact = sp.bursts, st.bus_free, self.refresh.advance_exact
        prefix, t_burst, rtrs = self._first_prefix, c.burst, c.rtrs
        end, busy = [0.0] * ch_n, [0.0] * ch_n
        for ch in chans:
            work = bursts[ch] * t_burst + switches[ch] * rtrs
            end[ch] = bus_free[ch] = max(max(exact(start[ch], work), aux[ch]),
                                         ready[ch] + prefix[head_kind[ch]] + work)
            busy[ch] = work
        if is_read:
            tail = max(c.hit - t_burst, 0.0)
            return end, [t + tail for t in end], busy
        return end, end, busy

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

    def access_one(self, address: int, length: int, first: int, arrival: int,
                   is_read: bool) -> AccessRecord:
        """One block (the common small case): the banked model in plain Python."""
        return access_one(self, address, length, first, arrival, is_read)

    def _classify(self, sp: Span, epoch: list[int], chans: list[int]) -> _Rows:
        """Row hits, misses and conflicts of every bank the transaction touches.

        A bank's blocks are one per grid row (period), in address order, and a
        grid row has one DRAM row number: the bank's first block meets the row
        left open (unless a refresh closed it since), and each later one
        conflicts exactly when it crosses into the next DRAM row.
        """
        st = self._state
        shape = self._shapes.get(sp.first_pos, sp.last_pos, sp.periods)
        blocks = sp.periods - shape.edges
        row_first, row_last = self._grid_rows(sp, shape.first_period, shape.after_last)
        # channels almost always share their refresh epoch: then one number serves all banks
        epochs = {epoch[ch] for ch in chans}
        bank_epoch = (epochs.pop() if len(epochs) == 1
                      else np.array(epoch)[self.address_map.layout.channel])
        open_now = np.where(st.row_epoch == bank_epoch, st.open_row, -1)
        # 0 hit, 1 miss (closed), 2 conflict; arithmetic, as np.where is costly on small arrays
        used = shape.used
        if shape.all_used:
            kind = (open_now != row_first) * (1 + (open_now >= 0))
            st.open_row[:], st.row_epoch[:] = row_last, bank_epoch
        else:
            kind = (used & (open_now != row_first)) * (1 + (open_now >= 0))
            np.copyto(st.open_row, row_last, where=used)
            np.copyto(st.row_epoch, bank_epoch, where=used)
        uniform = shape.all_used and isinstance(row_first, int) and isinstance(row_last, int)
        conflicts = row_last - row_first if uniform else used * (row_last - row_first)
        return _Rows(kind, kind.tolist(), (kind > 0) + conflicts, conflicts, blocks,
                     shape.used_per_channel)

    def _grid_rows(self, sp: Span, first_period: np.ndarray,
                   after_last: np.ndarray) -> tuple[Any, Any]:
        """DRAM row of each bank's first and last block: one number where all banks agree."""
        per_row, top = self.address_map.blocks_per_row, sp.period + sp.periods - 1
        row_first = (sp.period // per_row if sp.period // per_row == (sp.period + 1) // per_row
                     else (sp.period + first_period) // per_row)
        row_last = (top // per_row if top // per_row == (top - 1) // per_row
                    else (top - after_last) // per_row)
        return row_first, row_last

    def _serve_servers(self, sp: Span, rows: _Rows, ready: list[float]) -> list[float]:
        """Per channel: when the ranks, bank groups and banks finish their share."""
        c, st, lay, ch_n = self.cycles, self._state, self.address_map.layout, self.preset.channels
        acts = rows.activations
        plain, activating = self._group_work
        group_work = (rows.blocks - acts) * plain + acts * activating
        self._partial_block_group_work(sp, rows, group_work)
        ranks, groups, _ = st.sizes
        work = np.concatenate((np.bincount(lay.rank, acts, ranks) * c.act_window,
                               np.bincount(lay.group, group_work, groups), acts * c.rc))
        used = work > 0
        # servers are keyed ``... * channels + channel``: a row of ``channels`` per server
        start = np.maximum(st.free.reshape(-1, ch_n), np.array(ready)).reshape(-1)
        finish = self.refresh.advance(start, work)
        np.copyto(st.free, finish, where=used)
        bound = np.where(used, finish - self._server_unit + c.burst, 0.0)
        return bound.reshape(-1, ch_n).max(axis=0, initial=0.0).tolist()

    def partial_block(self, bursts: int, activates: bool) -> float:
        """Group work of a block of ``bursts`` minus that of a full block (the first and
        last block of a tile may be partial); the one rule for both paths."""
        c = self.cycles
        return (max(bursts * c.ccd_l, activates * c.rrd_l)
                - max(self._full_bursts * c.ccd_l, activates * c.rrd_l))

    def _partial_block_group_work(self, sp: Span, rows: _Rows, group_work: np.ndarray) -> None:
        """Correct the group work of the first and last blocks, which may be partial."""
        full, kind = self._full_bursts, rows.kind_list
        if sp.head_bursts != full:
            pos, act = sp.first_pos, kind[sp.first_pos] > 0
            group_work[pos] += self.partial_block(sp.head_bursts, act)
        if sp.last > sp.first and sp.tail_bursts != full:
            pos = sp.last_pos
            if rows.blocks[pos] == 1:   # the bank's only block
                act = kind[pos] > 0
            else:
                act = (sp.period + sp.periods - 1) % self.address_map.blocks_per_row == 0
            group_work[pos] += self.partial_block(sp.tail_bursts, act)

    def _rank_switches(self, sp: Span, chans: list[int]) -> list[int]:
        """Rank switches on each touched channel's bus (into the first block, and within)."""
        st, amap = self._state, self.address_map
        per_rank = amap.bank_groups * amap.banks_per_group
        first_local, last_local = sp.first_local, sp.last_local
        switches = [0] * amap.channels
        for ch in chans:
            first, last = first_local[ch] // per_rank, last_local[ch] // per_rank
            previous = st.last_rank[ch]
            switches[ch] = (previous >= 0 and first % amap.ranks != previous) + (
                last - first if amap.ranks > 1 else 0)
            st.last_rank[ch] = last % amap.ranks
        return switches

