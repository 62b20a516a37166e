"""The banked DRAM model's plain-Python paths, for transactions of a few blocks.

The vectorised path (memory/dram_banked_vector.py) classifies every bank of a period
at once: a fixed cost of a few dozen numpy calls, whatever the transaction's
size. A small tile touches a handful of banks, so here the same model runs bank
by bank in plain Python — the same formulas, applied in the same order, so
every float comes out bit-identical (``tests/test_dram_models.py`` forces
each path against the vector one):

* ``access_one``: a transaction inside one interleave block;
* ``reserve_few``: a transaction of at most ``FEW_BLOCKS`` blocks, each on a
  different bank (so no bank sees a second block, and no row is crossed).

Bank-group sums are accumulated in ascending period position, as
``np.bincount`` accumulates them, because float addition is not associative;
servers are independent of each other, so they are read, advanced and written
back together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memory.address_map import TileShape
from memory.dram_records import AccessRecord

if TYPE_CHECKING:
    from memory.dram_banked import BankedModel

# below this many blocks a transaction is served bank by bank in Python; above it the
# numpy path's fixed cost is the cheaper one (measured with benchmarks/dram_model_speed.py)
FEW_BLOCKS = 16


class PositionKeys:
    """Per period position, as plain ints: its channel and its servers' keys in ``free``."""

    def __init__(self, model: "BankedModel") -> None:
        amap, (ranks, groups, _) = model.address_map, model._state.sizes
        lay = amap.layout
        self.channel = lay.channel.tolist()
        self.rank_server = lay.rank.tolist()
        self.group_server = (lay.group + ranks).tolist()
        self.bank_server = [ranks + groups + p for p in range(amap.period_blocks)]
        self.rank = (lay.rank // amap.channels).tolist()
        # all of a position's at once: channel, rank, group, rank and bank server
        self.of = list(zip(self.channel, self.rank, self.group_server, self.rank_server,
                           self.bank_server))


def access_one(model: "BankedModel", address: int, length: int, first: int, arrival: int,
               is_read: bool) -> AccessRecord:
    """One block (the commonest small tile): the banked model in plain Python."""
    st, c, ref, amap = model._state, model.cycles, model.refresh, model.address_map
    pos, period = first % amap.period_blocks, first // amap.period_blocks
    ch, rank, group_server, rank_server, bank_server = model.keys.of[pos]
    bursts = (address + length - 1) // amap.burst_bytes - address // amap.burst_bytes + 1
    arr, bus_free = float(arrival), st.bus_free[ch]
    start, epoch = ref.skip_one(bus_free if bus_free >= arr else arr)
    ready = bus_free - model.lookahead_cycles
    if not ready > arr:
        ready = arr
    row = period // amap.blocks_per_row
    if epoch != st.row_epoch[ch]:
        st.enter_epoch(ch, epoch)
    open_row = int(st.open_row[pos])
    kind = 0 if open_row == row else (1 if open_row < 0 else 2)
    st.open_row[pos] = row
    last_rank = st.last_rank[ch]
    bus_work = bursts * c.burst + (0 <= last_rank != rank) * c.rtrs
    st.last_rank[ch] = rank
    servers = [(group_server, max(bursts * c.ccd_l, (kind > 0) * c.rrd_l), c.ccd_l)]
    if kind > 0:
        servers += [(rank_server, c.act_window, c.act_window), (bank_server, c.rc, c.rc)]
    aux, free, advance = 0.0, st.free, ref.advance_one
    for key, work, unit in servers:
        finish = float(free[key])
        finish = free[key] = advance(ready if ready > finish else finish, work)
        bound = finish - unit + c.burst
        if bound > aux:
            aux = bound
    end = advance(start, bus_work)
    if aux > end:
        end = aux
    bound = ready + model._first_prefix[kind] + bus_work
    if bound > end:
        end = bound
    st.bus_free[ch] = end
    done = end + model._read_tail if is_read else end
    counts = (bursts - (kind > 0), int(kind == 1), int(kind == 2))
    model._counters.add_one(ch, length, is_read, counts, start - arrival, bus_work)
    model._windows.add_one(ch, start, end, length)
    done_cycle = round(done)
    return AccessRecord(arrival, round(start), round(end),
                        done_cycle if done_cycle > arrival else arrival, round(start - arrival),
                        1, *counts, ch)


def _runs(shape: TileShape, period: int, period_blocks: int,
          blocks_per_row: int) -> tuple[tuple[int, int, int], ...]:
    """The period positions the tile uses, as (first, end, DRAM row) runs in ascending
    position: its blocks in the first grid row, or in the first and second."""
    if shape.periods == 1:
        return ((shape.first_pos, shape.last_pos + 1, period // blocks_per_row),)
    return ((0, shape.last_pos + 1, (period + 1) // blocks_per_row),
            (shape.first_pos, period_blocks, period // blocks_per_row))


def reserve_few(model: "BankedModel", shape: TileShape, period: int,
                ready: list[float]) -> tuple[list[int], list[float], list[int], list[int]]:
    """``VectorPath.serve``, bank by bank.

    ``ready`` is when each channel's servers may start. Returns the kind of each
    channel's first block, the other servers' bound (``aux``) per channel, and
    misses and conflicts per channel.
    """
    c, ch_n, of = model.cycles, model.address_map.channels, model.keys.of
    kinds, works = _classify_few(model, shape, period)
    misses, conflicts, aux = [0] * ch_n, [0] * ch_n, [0.0] * ch_n
    group_work: dict[int, float] = {}       # summed in ascending position, as np.bincount
    rank_acts: dict[int, int] = {}
    banks = []
    for pos, kind in kinds.items():
        ch, _, group, rank, bank = of[pos]
        group_work[group] = group_work.get(group, 0.0) + works[pos]
        if kind:
            if kind == 1:
                misses[ch] += 1
            else:
                conflicts[ch] += 1
            rank_acts[rank] = rank_acts.get(rank, 0) + 1
            banks.append(bank)
    units = [c.rc] * len(banks) + [c.act_window] * len(rank_acts) + [c.ccd_l] * len(group_work)
    work = [c.rc] * len(banks) + [n * c.act_window for n in rank_acts.values()]
    _serve(model, (banks + list(rank_acts) + list(group_work), work + list(group_work.values()),
                   units), ready, aux)
    return [kinds.get(p, 0) for p in shape.head_pos], aux, misses, conflicts


def _classify_few(model: "BankedModel", shape: TileShape,
                  period: int) -> tuple[dict[int, int], dict[int, float]]:
    """Per bank used (ascending position): the kind of its one block and its group work;
    the banks open the block's row."""
    open_row, amap = model._state.open_row, model.address_map
    plain, activating = model._group_work
    kinds, works = {}, {}
    for lo, end, row in _runs(shape, period, amap.period_blocks, amap.blocks_per_row):
        for pos, old in enumerate(open_row[lo:end].tolist(), lo):
            if old == row:
                kinds[pos], works[pos] = 0, plain
            else:
                kinds[pos], works[pos] = (1 if old < 0 else 2), activating
        open_row[lo:end] = row
    full = model._full_bursts
    if shape.head_bursts != full:     # the partial first and last blocks
        pos = shape.first_pos
        works[pos] += model.partial_block(shape.head_bursts, kinds[pos] > 0)
    if shape.tail_bursts != full:
        pos = shape.last_pos
        works[pos] += model.partial_block(shape.tail_bursts, kinds[pos] > 0)
    return kinds, works


def _serve(model: "BankedModel", servers: tuple[list[int], list[float], list[float]],
           ready: list[float], aux: list[float]) -> None:
    """Advance each used server (``servers``: keys, work, unit) from max(its free time,
    its channel's ready time), all at once."""
    free, refresh, burst = model._state.free, model.refresh, model.cycles.burst
    ch_n = model.address_map.channels
    keys, works, units = servers
    if min(works) <= 0:     # an idle server is not advanced (as ``work > 0`` in the vector path)
        keys, works, units = (list(x) for x in zip(*[s for s in zip(*servers) if s[1] > 0]))
    chans = [key % ch_n for key in keys]
    starts = [r if r > f else f for f, r in zip([free.item(key) for key in keys],
                                                [ready[ch] for ch in chans])]
    for key, ch, finish, unit in zip(keys, chans, refresh.advance_all(starts, works), units):
        free[key] = finish
        bound = finish - unit + burst
        if bound > aux[ch]:
            aux[ch] = bound
