"""The three processes every engine is made of: load, compute, store.

An engine's program is a list of jobs (tiles). Its *loader* (the DMA read
side) walks the program ahead of the compute: it waits until the job's inputs
exist in DRAM, reserves room in the input buffer, fetches the tile and puts it
into a bounded prefetch channel — the channel's depth is the double
buffering. The *compute* takes prefetched tiles, takes on-chip tiles from
upstream engines, computes for the job's cost, hands tiles downstream and
passes its results to the *storer* (the DMA write side), which writes them to
DRAM and marks them ready on the scoreboard.

In ``serial`` pipeline mode one lock is held around every timed operation
(transfer or compute) of every engine, so nothing overlaps; waiting for that
lock is nobody's fault and counts as idle.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Callable, Generator, Iterable, NamedTuple

import simpy

from memory.dram import AccessRecord
from memory.payload import Command, Transaction
from memory.sram import SramBuffer
from tlm.channel import Channel
from tlm.component import Component
from tlm.jobs import Access, Job, Scoreboard, Work
from tlm.stats import Collector, Slice


class Shared:
    """What the processes of all engines share: the DRAM, the scoreboard, the statistics
    collector and, in serial mode, the lock. Channels and buffers are not shared: each
    component receives its own at construction (``tlm/system.py`` wires them)."""

    def __init__(self, env: simpy.Environment, dram: Any, serial: bool,
                 on_job: Callable[[], None] | None = None) -> None:
        self.env = env
        self.dram = dram
        self.on_job = on_job
        self.scoreboard = Scoreboard(env)
        self.collector = Collector()
        self.lock = simpy.Resource(env, capacity=1) if serial else None

    def serialized(self, generator: Generator) -> Generator[Any, Any, Any]:
        """Run a timed operation, under the global lock in serial mode."""
        if self.lock is None:
            return (yield from generator)
        with self.lock.request() as request:
            yield request
            return (yield from generator)

    def transfer(self, accesses: Iterable[Access], buffers: dict[str, SramBuffer],
                 command: Command, initiator: str, phase: str) -> simpy.Event:
        """Issue one DRAM transaction per access; the event fires when all have
        completed and each buffer's port has moved its share of the bytes."""
        accesses = [a for a in accesses if a.length_bytes > 0]
        events = [self.dram.access(Transaction(command, a.address, a.length_bytes, a.tensor,
                                               a.layer, a.timestep, phase, initiator))
                  for a in accesses]
        ports = [buffers[name].port.move(nbytes)
                 for name, nbytes in bytes_per_buffer(accesses).items()]
        return simpy.AllOf(self.env, events + ports)


class Prefetched(NamedTuple):
    """A fetched tile on its way from an engine's loader to its compute."""

    job: Job
    work: Work
    inputs_ready_at: int    # when its inputs were complete in DRAM (before: starvation)
    dram_channel: int       # the DRAM channel that delivered it last (-1: no DRAM read)


class Dma(Component):
    """A loader or storer: moves an engine's tiles between DRAM and its own buffers."""

    def __init__(self, env: simpy.Environment, name: str, shared: Shared,
                 buffers: dict[str, SramBuffer], streaming: frozenset[str]) -> None:
        super().__init__(env, name)
        self.shared, self.buffers = shared, buffers
        self.streaming = streaming  # buffers reserved tile by tile (the others hold a working set)


def critical_channel(values: Iterable[Any]) -> int:
    """The DRAM channel of the transfer that completed last, from the events' values."""
    records = [v for v in values if isinstance(v, AccessRecord)]
    return max(records, key=lambda r: r.done_cycle).critical_channel if records else -1


def bytes_per_buffer(accesses: Iterable[Access]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for access in accesses:
        totals[access.buffer] += access.length_bytes
    return dict(totals)


class Loader(Dma):
    """DMA read side: fetches each job's tiles ahead of the compute."""

    def __init__(self, env: simpy.Environment, name: str, shared: Shared, program: list[Job],
                 buffers: dict[str, SramBuffer], streaming: frozenset[str],
                 prefetch: Channel) -> None:
        super().__init__(env, name, shared, buffers, streaming)
        self.program, self.prefetch = program, prefetch

    def run(self) -> Generator[simpy.Event, Any, None]:
        board = self.shared.scoreboard
        for job in self.program:
            if job.after:
                keys = ", ".join(f"{t}[{l}][t={s}]" for t, l, s in job.after)
                yield from self.wait(simpy.AllOf(self.env, [board.ready(k) for k in job.after]),
                                     "starved", f"inputs {keys} of {job.label}")
            inputs_ready_at = self.env.now
            work = job.prepare()
            yield from self._reserve(work.reads, job)
            channel = yield from self.shared.serialized(self._fetch(job, work))
            yield from self.wait_for(self.prefetch.put(Prefetched(job, work, inputs_ready_at, channel)),
                                     "stall_backpressure", f"room in {self.prefetch.describe()}")

    def _reserve(self, reads: tuple[Access, ...], job: Job) -> Generator:
        for name, nbytes in bytes_per_buffer(reads).items():
            if name in self.streaming:
                yield from self.wait(self.buffers[name].allocate(nbytes, self.name),
                                     "stall_backpressure", f"{nbytes} B in {name} for {job.label}")

    def _fetch(self, job: Job, work: Work) -> Generator[Any, Any, int]:
        """Read the job's tiles; returns the DRAM channel that finished last (-1: none)."""
        for name, nbytes in work.holds.items():
            self.buffers[name].hold(nbytes)
        if not work.reads:
            return -1
        start = self.env.now
        done = yield from self.wait(
            self.shared.transfer(work.reads, self.buffers, Command.READ, self.name, job.phase),
            "busy", f"DRAM reads of {job.label}")
        collector = self.shared.collector
        collector.slices.append(Slice(self.name, "read", job.phase, job.layer, job.timestep,
                                      start, self.env.now, work.read_bytes))
        for access in work.reads:
            buffer = self.buffers[access.buffer]
            buffer.record_write(access.length_bytes)
            if access.refetch:
                buffer.record_refetch(access.length_bytes)
        stats = collector.layer(job.layer, job.phase)
        stats.bytes_read += work.read_bytes
        stats.refetch_bytes += sum(a.length_bytes for a in work.reads if a.refetch)
        return critical_channel(done.values())


class Engine(Component):
    """Compute side: one tile at a time, for the cycles its pure cost function gives."""

    def __init__(self, env: simpy.Environment, name: str, shared: Shared, program: list[Job],
                 prefetch: Channel, inputs: dict[str, Channel], outputs: dict[str, Channel],
                 buffers: dict[str, SramBuffer], streaming: frozenset[str],
                 store_queue: simpy.Store) -> None:
        super().__init__(env, name)
        self.shared, self.program = shared, program
        self.prefetch, self.inputs, self.outputs = prefetch, inputs, outputs
        self.buffers, self.streaming, self.store_queue = buffers, streaming, store_queue
        self.memory_stall_by_channel: Counter = Counter()  # DRAM channel -> stalled cycles

    def run(self) -> Generator[simpy.Event, Any, None]:
        for job in self.program:
            work = yield from self._take_inputs(job)
            yield from self.shared.serialized(self._compute(job, work))
            self._release_inputs(work)
            for name in job.gives:
                channel = self.outputs[name]
                yield from self.wait_for(channel.put(job.label), "stall_backpressure",
                                         f"room in {channel.describe()}")
            if work.writes:
                yield from self._reserve_outputs(job, work)
                self.store_queue.put((job, work))
        self.store_queue.put(None)

    def _take_inputs(self, job: Job) -> Generator[Any, Any, Work]:
        start = self.env.now
        self.waiting_for = f"tiles of {job.label} from {self.prefetch.describe()}"
        tile: Prefetched = yield from self.prefetch.get()
        self.waiting_for = None
        waited = self.env.now - start
        starved = min(waited, max(0, tile.inputs_ready_at - start))  # upstream had not written it
        self.activity.add("starved", starved)
        self.activity.add("stall_memory", waited - starved)
        if waited > starved and tile.dram_channel >= 0:  # blame the channel that delivered last
            self.memory_stall_by_channel[tile.dram_channel] += waited - starved
        for name in job.takes:
            channel = self.inputs[name]
            yield from self.wait_for(channel.get(), "starved", f"a tile from {channel.describe()}")
        return tile.work

    def _compute(self, job: Job, work: Work) -> Generator:
        start = self.env.now
        yield from self.wait(self.env.timeout(work.cost.cycles), "busy", f"computing {job.label}")
        collector = self.shared.collector
        collector.slices.append(Slice(self.name, "compute", job.phase, job.layer, job.timestep,
                                      start, self.env.now, 0))
        stats = collector.layer(job.layer, job.phase)
        stats.busy_cycles += work.cost.cycles
        stats.span(start, self.env.now)
        ops = {f"{self.name}.{op}": count for op, count in work.cost.ops.items()}
        stats.ops.update(ops)
        stats.skipped.update({f"{self.name}.{op}": n for op, n in work.cost.skipped.items()})
        collector.actions.update(ops)
        if self.shared.on_job is not None:
            self.shared.on_job()

    def _release_inputs(self, work: Work) -> None:
        for name, nbytes in bytes_per_buffer(work.reads).items():
            self.buffers[name].record_read(nbytes)
            if name in self.streaming:
                self.buffers[name].release(nbytes)

    def _reserve_outputs(self, job: Job, work: Work) -> Generator:
        for name, nbytes in bytes_per_buffer(work.writes).items():
            self.buffers[name].record_write(nbytes)
            if name in self.streaming:
                yield from self.wait(self.buffers[name].allocate(nbytes, self.name),
                                     "stall_backpressure", f"{nbytes} B in {name} for results of {job.label}")


class Storer(Dma):
    """DMA write side: drains results to DRAM, then marks them ready."""

    def __init__(self, env: simpy.Environment, name: str, shared: Shared,
                 buffers: dict[str, SramBuffer], streaming: frozenset[str],
                 store_queue: simpy.Store) -> None:
        super().__init__(env, name, shared, buffers, streaming)
        self.store_queue = store_queue

    def run(self) -> Generator[simpy.Event, Any, None]:
        while True:
            self.waiting_for = "results to write"
            item = yield self.store_queue.get()  # nothing to write is idle time, not a stall
            self.waiting_for = None
            if item is None:
                return
            job, work = item
            yield from self.shared.serialized(self._write(job, work))
            for name, nbytes in bytes_per_buffer(work.writes).items():
                self.buffers[name].record_read(nbytes)
                if name in self.streaming:
                    self.buffers[name].release(nbytes)
            for key in job.signals:
                self.shared.scoreboard.done(key)

    def _write(self, job: Job, work: Work) -> Generator:
        start = self.env.now
        yield from self.wait(self.shared.transfer(work.writes, self.buffers, Command.WRITE,
                                                  self.name, job.phase),
                             "busy", f"DRAM writes of {job.label}")
        collector = self.shared.collector
        collector.slices.append(Slice(self.name, "write", job.phase, job.layer, job.timestep,
                                      start, self.env.now, work.write_bytes))
        collector.layer(job.layer, job.phase).bytes_written += work.write_bytes
