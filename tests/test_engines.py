"""Engines tested as components: a loader, a compute and a storer between a source and a
sink, with a fixed-latency DRAM, so every expected time below is derived by hand.

D is the DRAM latency of one tile read, C the compute cycles of one tile, W the DRAM
latency of one write. Every run has a cycle cap, so a bug that hangs a process fails
the test instead of the suite.
"""

from __future__ import annotations

import simpy
import pytest

from memory.dram import AccessRecord
from memory.sram import SramBuffer
from tlm.channel import Channel
from tlm.config import config_from_dict
from tlm.costs import TileCost
from tlm.engines.base import Engine, Loader, Prefetched, Shared, Storer
from tlm.engines.backward import backward_program
from tlm.engines.context import Context
from tlm.engines.weight_update import time_groups, weight_update_jobs
from tlm.jobs import Access, Job, Work
from tlm.layout import Layout
from traces.reader import open_trace

CAP_CYCLES = 100_000
TILE_BYTES = 64
D, C, W = 10, 25, 7


class FixedLatencyDram:
    """Every transaction takes ``cycles``, however many are in flight (infinite banks)."""

    def __init__(self, env: simpy.Environment, read_cycles: int, write_cycles: int) -> None:
        self.env, self.read_cycles, self.write_cycles = env, read_cycles, write_cycles
        self.log: list[tuple[int, str, int]] = []   # (issue cycle, command, bytes)

    def access(self, txn) -> simpy.Timeout:
        now = int(self.env.now)
        cycles = self.read_cycles if txn.is_read else self.write_cycles
        self.log.append((now, txn.command.value, txn.length_bytes))
        return self.env.timeout(cycles, value=AccessRecord(now, now, now + cycles, now + cycles,
                                                           0, 1, 1, 0, 0, critical_channel=0))


def tile_job(i: int, *, reads: bool = True, writes: bool = False, compute: int = C,
             after=(), gives=(), signals=()) -> Job:
    read = (Access("x", 0, i, i * TILE_BYTES, TILE_BYTES, "in"),) if reads else ()
    write = (Access("y", 0, i, 1 << 20 + i * TILE_BYTES, TILE_BYTES, "out"),) if writes else ()
    work = Work(read, write, TileCost(compute, {"op": 1}))
    return Job("e", "forward", 0, i, f"job {i}", lambda: work, after=tuple(after),
               gives=tuple(gives), signals=tuple(signals))


class Harness:
    """One engine's three processes wired by hand, as ``tlm/system.py`` wires them."""

    def __init__(self, program: list[Job], *, depth: int = 2, in_bytes: int = 1 << 20,
                 outputs: dict[str, float] | None = None, port_bytes: int = 1 << 30) -> None:
        self.env = simpy.Environment()
        self.dram = FixedLatencyDram(self.env, D, W)
        self.shared = Shared(self.env, self.dram, serial=False)
        self.buffers = {"in": SramBuffer(self.env, "in", in_bytes, port_bytes),
                        "out": SramBuffer(self.env, "out", 1 << 20, port_bytes)}
        streaming = frozenset(self.buffers)
        self.prefetch = Channel(self.env, "e.prefetch", depth)
        self.outputs = {name: Channel(self.env, name, cap) for name, cap in (outputs or {}).items()}
        store_queue = simpy.Store(self.env)
        self.loader = Loader(self.env, "e.load", self.shared, program, self.buffers, streaming,
                             self.prefetch)
        self.engine = Engine(self.env, "e", self.shared, program, self.prefetch, {}, self.outputs,
                             self.buffers, streaming, store_queue)
        self.storer = Storer(self.env, "e.store", self.shared, self.buffers, streaming, store_queue)
        for job in program:
            for key in job.signals:
                self.shared.scoreboard.expect(key)

    def run(self, *components, until: int = CAP_CYCLES) -> int:
        for component in components or (self.loader, self.engine, self.storer):
            component.start()
        self.env.run(until=until)
        return int(self.env.now)

    def finish_time(self) -> int:
        self.run()
        assert self.engine.finished and self.storer.finished, "a process hung"
        return max(s.end for s in self.shared.collector.slices)


def test_loader_alone_stops_after_filling_the_prefetch_depth():
    # no compute takes tiles: the loader fetches depth tiles, plus one it cannot put
    h = Harness([tile_job(i) for i in range(6)], depth=2)
    h.run(h.loader, until=1000)
    assert h.prefetch.occupancy_tiles == 2
    assert len(h.dram.log) == 3
    assert h.loader.activity.cycles["busy"] == 3 * D
    assert not h.loader.finished  # (a wait is charged when it ends: this one never does)
    assert h.loader.waiting_for.startswith("room in channel e.prefetch (2 tiles")


def test_prefetch_puts_named_records():
    h = Harness([tile_job(0)], depth=1)
    h.run(h.loader, until=100)
    tile = h.prefetch._store.items[0]
    assert isinstance(tile, Prefetched)
    assert (tile.job.label, tile.inputs_ready_at, tile.dram_channel) == ("job 0", 0, 0)


def test_compute_bound_pipeline_hides_the_dram():
    # C > D: after the first fetch the loader runs ahead; the engine never waits again
    n = 8
    h = Harness([tile_job(i) for i in range(n)])
    assert h.finish_time() == D + n * C
    assert h.engine.activity.cycles == {"busy": n * C, "stall_memory": D,
                                        "stall_backpressure": 0, "starved": 0}


def test_memory_bound_pipeline_waits_on_every_tile():
    # D > C: a tile arrives every D cycles; the engine waits D - C for each after the first
    n, slow = 8, 40
    h = Harness([tile_job(i) for i in range(n)])
    h.dram.read_cycles = slow
    assert h.finish_time() == n * slow + C
    assert h.engine.activity.cycles["stall_memory"] == slow + (n - 1) * (slow - C)
    assert h.engine.activity.cycles["busy"] == n * C


def test_starved_until_the_input_is_in_dram_then_memory_stalled_for_the_fetch():
    ready_at = 100
    h = Harness([tile_job(0, after=[("x", 0, 0)])])
    h.shared.scoreboard.expect(("x", 0, 0))

    def upstream():
        yield h.env.timeout(ready_at)
        h.shared.scoreboard.done(("x", 0, 0))

    h.env.process(upstream())
    assert h.finish_time() == ready_at + D + C
    assert h.engine.activity.cycles["starved"] == ready_at
    assert h.engine.activity.cycles["stall_memory"] == D
    assert h.loader.activity.cycles["starved"] == ready_at


def test_full_downstream_channel_is_back_pressure():
    # nobody drains the depth-1 channel: the second tile's put blocks the compute for good
    h = Harness([tile_job(i, gives=["e->sink"]) for i in range(3)], outputs={"e->sink": 1})
    h.run(until=1000)
    assert h.outputs["e->sink"].occupancy_tiles == 1
    assert h.engine.activity.cycles["busy"] == 2 * C
    assert not h.engine.finished
    assert h.engine.waiting_for.startswith("room in channel e->sink (1 tiles")


def test_a_one_tile_buffer_serialises_fetch_and_compute():
    # the input buffer holds one tile: the next fetch waits until the compute releases it
    n = 4
    h = Harness([tile_job(i) for i in range(n)], in_bytes=TILE_BYTES)
    assert h.finish_time() == n * (D + C)
    assert h.loader.activity.cycles["stall_backpressure"] == (n - 1) * C


def test_storer_writes_after_compute_and_signals_the_scoreboard():
    key = ("y", 0, 0)
    h = Harness([tile_job(0, writes=True, signals=[key])])
    ready = h.shared.scoreboard.ready(key)
    h.run()
    assert ready.triggered and h.storer.finished
    assert h.storer.activity.cycles["busy"] == W
    assert h.dram.log == [(0, "read", TILE_BYTES), (D + C, "write", TILE_BYTES)]


def test_the_port_time_bounds_a_transfer():
    # a 64 B tile through an 8 B/cycle port takes 8 cycles: longer than a 5-cycle DRAM read
    h = Harness([tile_job(0)], port_bytes=8)
    h.dram.read_cycles = 5
    assert h.finish_time() == 8 + C


# -- the job builders ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def ctx(tiny_trace):
    cfg = config_from_dict({})
    with open_trace(tiny_trace) as reader:
        meta = reader.meta
    return Context(cfg, meta.network, meta.timesteps, meta.batch,
                   Layout(meta.network, meta.timesteps, meta.batch, cfg), None)


def test_backward_program_runs_in_reverse_time_and_waits_for_du(ctx):
    n = len(ctx.network.layers) - 1
    be_jobs, lif_jobs = backward_program(ctx, n)
    chunks = len(be_jobs) // ctx.timesteps
    assert len(be_jobs) == len(lif_jobs) == chunks * ctx.timesteps
    first_chunk = be_jobs[:ctx.timesteps]
    assert [j.timestep for j in first_chunk] == list(reversed(range(ctx.timesteps)))
    assert all(j.after == (("du", n, j.timestep), ("h", n - 1, j.timestep)) for j in be_jobs)
    assert all("be->lif" in j.gives for j in be_jobs)
    assert all(j.takes == ("be->lif",) and j.signals == (("du", n - 1, j.timestep),)
               for j in lif_jobs)


def test_weight_update_groups_k_timesteps_latest_first(ctx):
    assert time_groups(5, 2) == [range(3, 5), range(1, 3), range(0, 1)]
    n = next(i for i, l in enumerate(ctx.network.layers) if i > 0 and l.has_weights)
    jobs = weight_update_jobs(ctx, n)
    updates = [j for j in jobs if "apply" not in j.label]
    groups = len(time_groups(ctx.timesteps, ctx.cfg.wue.lut_k))
    assert len(updates) % groups == 0
    chunks = len(updates) // groups
    # forwarded over be->wue: every du tile the BE hands over is taken exactly once
    assert {name for j in updates for name in j.takes} == {"be->wue"}
    assert sum(len(j.takes) for j in updates) == chunks * ctx.timesteps


def test_a_du_tile_is_read_as_long_as_it_was_written():
    cfg = config_from_dict({"be.grad_bits": 12})
    class OneLayer:  # the layout needs only neuron and weight counts
        in_neurons, out_neurons, weight_count = 16, 10, 160

    class Net:
        layers = [OneLayer()]

    layout = Layout(Net(), 2, 4, cfg)
    # 3 non-zeros × 12 bits = 4.5 B: the tile carries 5 B of values after 4 × 2 B of masks
    assert layout.du_tile_bytes(0, 4, 3) == 4 * 2 + 5
    assert layout.du_sample_bytes(0, 3) == 2 + 5
