"""The banked DRAM timing model: open rows, bank-level parallelism, refresh.

See memory/dram.py for the model in words. ``BankedModel.access`` serves a
transaction: what depends on its shape alone is derived once per shape
(memory/dram_banked_tiles.py); its banks are classified against their open rows
and its rank, bank-group and bank servers advanced, vectorised over the period
grid of the address map (memory/dram_banked_vector.py) or, for one block or a
few blocks on as many banks, in plain Python bank by bank
(memory/dram_banked_scalar.py), to the same result to the last bit; then each
touched channel's data bus, and the counters, windows and record. A transaction
touches a handful of channels, so channel-level work is plain Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from memory.address_map import AddressMap
from memory.dram_banked_scalar import FEW_BLOCKS, PositionKeys, access_one, reserve_few
from memory.dram_banked_tiles import Tile, Tiles
from memory.dram_banked_vector import VectorPath
from memory.dram_records import AccessRecord
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


class BankedModel:
    """Rows, banks, bank groups, ranks and refresh; the state lives in the ``Dram``."""

    def __init__(self, dram: "Dram") -> None:
        self.preset, self.address_map, self.refresh = dram.preset, dram.address_map, dram.refresh
        self.cycles = c = dram.cycles
        self.lookahead_cycles = dram.lookahead_cycles
        self._state, self._counters, self._windows = dram._state, dram._counters, dram._windows
        amap = self.address_map
        # cached from the preset: per-block group work without / with an activation
        self._full_bursts = full = amap.interleave_bytes // self.preset.burst_bytes
        self._group_work = (full * c.ccd_l, max(full * c.ccd_l, c.rrd_l))
        self._first_prefix = [c.hit - c.hit, c.miss - c.hit, c.conflict - c.hit]
        self._read_tail = max(c.hit - c.burst, 0.0)
        self.keys = PositionKeys(self)
        # fast_path False: every transaction takes the vector path, which keeps nothing
        self._one_block = dram.fast_path
        # blocks below which a transaction is served bank by bank (each block on its own bank)
        self._tiles = Tiles(self, min(FEW_BLOCKS, amap.period_blocks) * dram.fast_path,
                            cache=dram.fast_path)
        self._vector = VectorPath(self)
        self._interleave, self._period_blocks = amap.interleave_bytes, amap.period_blocks

    def access(self, address: int, length: int, arrival: int, is_read: bool) -> AccessRecord:
        """Serve a transaction of ``length > 0`` bytes: its record; servers, counters and
        bandwidth windows are updated."""
        first = address // self._interleave
        if self._one_block and first == (address + length - 1) // self._interleave:
            return access_one(self, address, length, first, arrival, is_read)
        tile = self._tiles.get(address, length)
        period = first // self._period_blocks
        starts, ready = self._open(tile, float(arrival))
        if tile.masks is None:
            served = reserve_few(self, tile.shape, period, ready)
        else:
            served = self._vector.serve(tile, period, ready)
        works = self._bus_work(tile)
        ends = self._reserve_buses(tile, (starts, ready, works), served)
        return self._account(tile, arrival, is_read, (starts, ends, works), served)

    def _open(self, tile: Tile, arr: float) -> tuple[list[float], list[float]]:
        """When each touched channel's bus could start the tile (parallel to
        ``tile.channels``), and when each channel's other servers may start (over all
        channels: the lookahead); rows a refresh closed are closed."""
        st, skip = self._state, self.refresh.skip_one
        bus_free, row_epoch, lookahead = st.bus_free, st.row_epoch, self.lookahead_cycles
        starts, ready = [], [arr] * len(bus_free)
        for ch in tile.channels:
            free = bus_free[ch]
            start, epoch = skip(free if free > arr else arr)
            starts.append(start)
            if epoch != row_epoch[ch]:
                st.enter_epoch(ch, epoch)
            # the controller prepares rows only for requests within its lookahead
            free -= lookahead
            if free > arr:
                ready[ch] = free
        return starts, ready

    def _reserve_buses(self, tile: Tile, times: tuple[list[float], list[float], list[float]],
                       served: tuple[list[int], list[float], list[int], list[int]]
                       ) -> list[float]:
        """Each touched channel's data bus, once its other servers (``aux``) are known:
        when it is done (``times``: the bus start and work parallel to ``tile.channels``,
        as the result is, and ready over all channels)."""
        starts, ready, works = times
        head_kind, aux, _, _ = served
        bus_free, prefix, chans = self._state.bus_free, self._first_prefix, tile.channels
        ends = self.refresh.advance_all(starts, works)
        for i, (ch, end, work) in enumerate(zip(chans, ends, works)):
            other = aux[ch]
            if other > end:
                end = other
            other = ready[ch] + prefix[head_kind[ch]] + work
            if other > end:
                end = other
            bus_free[ch] = ends[i] = end
        return ends

    def _bus_work(self, tile: Tile) -> list[float]:
        """Each touched channel's data-bus work: its bursts, and its rank switches (into
        the first block, and within the tile)."""
        if tile.ranks is None:        # one rank: no switch
            return tile.bus_work
        last_rank, rtrs, works = self._state.last_rank, self.cycles.rtrs, []
        for ch, work, (first, within, last) in zip(tile.channels, tile.bus_work, tile.ranks):
            previous = last_rank[ch]
            works.append(work + ((previous >= 0 and first != previous) + within) * rtrs)
            last_rank[ch] = last
        return works

    def _account(self, tile: Tile, arrival: int, is_read: bool,
                 times: tuple[list[float], list[float], list[float]],
                 served: tuple[list[int], list[float], list[int], list[int]]) -> AccessRecord:
        """Counters and windows of the touched channels, and the record (``times``: the
        bus start, end and work, parallel to ``tile.channels``)."""
        starts, ends, works = times
        _, _, misses, conflicts = served
        chans = tile.channels
        if len(chans) < len(misses):        # the counts of the touched channels
            misses, conflicts = [misses[ch] for ch in chans], [conflicts[ch] for ch in chans]
        self._counters.add(chans, tile.nbytes, is_read, (tile.bursts, misses, conflicts),
                           starts, arrival, works)
        self._windows.add(chans, starts, ends, tile.nbytes)
        dones = [end + self._read_tail for end in ends] if is_read else ends
        done = max(dones)
        critical = chans[len(dones) - 1 - dones[::-1].index(done)]   # the highest on a tie
        done_cycle, missed, conflicted = round(done), sum(misses), sum(conflicts)
        return AccessRecord(arrival, round(min(starts)), round(max(ends)),
                            done_cycle if done_cycle > arrival else arrival,
                            round(max(starts) - arrival), len(chans),
                            tile.total_bursts - missed - conflicted, missed, conflicted, critical)

    def partial_block(self, bursts: int, activates: bool) -> float:
        """Group work of a block of ``bursts`` minus that of a full block (the first and
        last block of a tile may be partial); the one rule for both paths."""
        c = self.cycles
        return (max(bursts * c.ccd_l, activates * c.rrd_l)
                - max(self._full_bursts * c.ccd_l, activates * c.rrd_l))
