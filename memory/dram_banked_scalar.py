"""The banked DRAM model's plain-Python paths, for transactions of a few blocks.

The vectorised path (memory/dram_banked.py) classifies every bank of a period
at once: a fixed cost of a few dozen numpy calls, whatever the transaction's
size. A small tile touches a handful of banks, so here the same model runs bank
by bank in plain Python — the same formulas, applied in the same order, so
every float comes out bit-identical (``tests/test_dram_models.py`` forces
each path against the vector one):

* ``access_one``: a transaction inside one interleave block;
* ``reserve_few``: a transaction of at most ``FEW_BLOCKS`` blocks, each on a
  different bank (so no bank sees a second block, and no row is crossed).

Bank-group sums are accumulated in ascending period position, as
``np.bincount`` accumulates them, because float addition is not associative.
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


def access_one(model: "BankedModel", address: int, length: int, first: int, arrival: int,
               is_read: bool) -> AccessRecord:
    """One block (the commonest small tile): the banked model in plain Python."""
    st, c, ref, amap, keys = model._state, model.cycles, model.refresh, model.address_map, model.keys
    pos, period = first % amap.period_blocks, first // amap.period_blocks
    ch = keys.channel[pos]
    bursts = (address + length - 1) // amap.burst_bytes - address // amap.burst_bytes + 1
    bus_free = st.bus_free[ch]
    start, epoch = ref.skip_one(max(bus_free, float(arrival)))
    ready = max(float(arrival), bus_free - model.lookahead_cycles)
    row = period // amap.blocks_per_row
    st.enter_epoch(ch, epoch)
    open_row = int(st.open_row[pos])
    kind = 0 if open_row == row else (1 if open_row < 0 else 2)
    st.open_row[pos] = row
    rank, last_rank = keys.rank[pos], st.last_rank[ch]
    bus_work = bursts * c.burst + (0 <= last_rank != rank) * c.rtrs
    st.last_rank[ch] = rank
    servers = [(keys.group_server[pos], max(bursts * c.ccd_l, (kind > 0) * c.rrd_l), c.ccd_l)]
    if kind > 0:
        servers += [(keys.rank_server[pos], c.act_window, c.act_window),
                    (keys.bank_server[pos], c.rc, c.rc)]
    aux, free, advance = 0.0, st.free, ref.advance_one
    for key, work, unit in servers:
        finish = advance(max(float(free[key]), ready), work)
        free[key] = finish
        aux = max(aux, finish - unit + c.burst)
    end = max(advance(start, bus_work), aux, ready + model._first_prefix[kind] + bus_work)
    st.bus_free[ch] = end
    done = end + max(c.hit - c.burst, 0.0) if is_read else end
    counts = (bursts - (kind > 0), int(kind == 1), int(kind == 2))
    model._counters.add_one(ch, length, is_read, counts, start - arrival, bus_work)
    model._windows.add_one(ch, start, end, length)
    return AccessRecord(arrival, round(start), round(end), max(arrival, round(done)),
                        round(start - arrival), 1, *counts, critical_channel=ch)


def _positions(shape: TileShape, period_blocks: int) -> list[tuple[int, int]]:
    """(position, grid row of its one block) in ascending position."""
    if shape.periods == 1:
        return [(p, 0) for p in range(shape.first_pos, shape.last_pos + 1)]
    return ([(p, 1) for p in range(shape.last_pos + 1)]
            + [(p, 0) for p in range(shape.first_pos, period_blocks)])


def reserve_few(model: "BankedModel", shape: TileShape, period: int,
                ready: list[float]) -> tuple[list[int], list[float], list[int], list[int]]:
    """``_classify`` and ``_serve_servers`` of the vector path, bank by bank.

    ``ready`` is when each channel's servers may start. Returns the kind of each
    channel's first block, the other servers' bound (``aux``) per channel, and
    misses and conflicts per channel.
    """
    st, c, keys, amap = model._state, model.cycles, model.keys, model.address_map
    ch_n, per_row = amap.channels, amap.blocks_per_row
    plain, activating = model._group_work
    misses, conflicts, aux = [0] * ch_n, [0] * ch_n, [0.0] * ch_n
    rank_acts: dict[int, int] = {}
    group_work: dict[int, float] = {}
    banks: list[int] = []
    kind_at = {}
    open_row = st.open_row
    edges = (shape.first_pos, shape.last_pos)
    for pos, grid_row in _positions(shape, amap.period_blocks):
        ch = keys.channel[pos]
        row = (period + grid_row) // per_row
        open_now = int(open_row[pos])
        st.open_row[pos] = row
        group = keys.group_server[pos]
        if open_now == row:
            kind, work = 0, plain
        else:
            kind, work = (1, activating) if open_now < 0 else (2, activating)
            (misses if kind == 1 else conflicts)[ch] += 1
            rank = keys.rank_server[pos]
            rank_acts[rank] = rank_acts.get(rank, 0) + 1
            banks.append(pos)
        kind_at[pos] = kind
        if pos in edges:
            work = _edge_work(model, shape, pos, kind, work)
        group_work[group] = group_work.get(group, 0.0) + work
    servers = ([(key, n * c.act_window, c.act_window) for key, n in rank_acts.items()]
               + [(key, work, c.ccd_l) for key, work in group_work.items()]
               + [(keys.bank_server[pos], c.rc, c.rc) for pos in banks])
    _serve(model, servers, ready, aux)
    head_kind = [kind_at.get(p, 0) for p in shape.head_pos]
    return head_kind, aux, misses, conflicts


def _edge_work(model: "BankedModel", shape: TileShape, pos: int, kind: int, work: float) -> float:
    """A bank's group work, corrected where its block is the partial first or last one."""
    full = model._full_bursts
    if pos == shape.first_pos and shape.head_bursts != full:
        work += model.partial_block(shape.head_bursts, kind > 0)
    if pos == shape.last_pos and shape.tail_bursts != full:
        work += model.partial_block(shape.tail_bursts, kind > 0)
    return work


def _serve(model: "BankedModel", servers: list[tuple[int, float, float]], ready: list[float],
           aux: list[float]) -> None:
    """Advance each used server from max(its free time, its channel's ready time)."""
    free, advance, burst = model._state.free, model.refresh.advance_exact, model.cycles.burst
    ch_n = model.address_map.channels
    for key, work, unit in servers:
        if work <= 0:        # an idle server is not advanced (as ``work > 0`` in the vector path)
            continue
        ch = key % ch_n
        finish = advance(max(float(free[key]), ready[ch]), work)
        free[key] = finish
        aux[ch] = max(aux[ch], finish - unit + burst)
