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

A request granted at once while nothing else is due this cycle (inputs already
written, room in a buffer or channel, results for an idle storer) skips SimPy's
event round trip, and a port that moves its bytes at once is left out of a
transfer that completes later: neither changes the order of anything or any
number (``memory/sram.py`` gives the rule; tests/test_fast_paths.py checks it).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Generator, Iterable, NamedTuple

import simpy

from memory.dram import AccessRecord
from memory.payload import Command, Transaction
from memory.sram import SramBuffer, nothing_else_due
from tlm.channel import Channel
from tlm.component import Component
from tlm.jobs import Access, Job, Scoreboard, Work, bytes_per_buffer
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
        """Run a timed operation, under the global lock in serial mode (without a lock,
        the operation itself: one generator less to resume at every event)."""
        if self.lock is None:
            return generator
        return self._locked(generator)

    def _locked(self, generator: Generator) -> Generator[Any, Any, Any]:
        with self.lock.request() as request:
            yield request
            return (yield from generator)

    def transfer(self, accesses: tuple[Access, ...], by_buffer: dict[str, int],
                 buffers: dict[str, SramBuffer], command: Command, initiator: str,
                 phase: str) -> simpy.Event:
        """Issue one DRAM transaction per access; the event fires when all have
        completed and each buffer's port has moved its share of the bytes
        (``by_buffer``: the accesses' bytes per buffer)."""
        moved = [a for a in accesses if a.length_bytes > 0]
        if len(moved) < len(accesses):  # a buffer with only empty accesses moves nothing
            by_buffer = bytes_per_buffer(moved)
        events = [self.dram.access(Transaction(command, a.address, a.length_bytes, a.tensor,
                                               a.layer, a.timestep, phase, initiator))
                  for a in moved]
        # A port that moves its bytes at once fires now, before a DRAM transfer that
        # completes later: waiting for that port too changes nothing. Leave it out.
        later = any(completes_later(event, self.env.now) for event in events)
        ports = [port.move(nbytes) for port, nbytes in
                 ((buffers[name].port, nbytes) for name, nbytes in by_buffer.items())
                 if not (later and port.free_at_once(nbytes))]
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


def completes_later(event: simpy.Event, now: int) -> bool:
    """A DRAM transfer's event known to fire after the current cycle (its record says so)."""
    return (event.triggered and isinstance(event.value, AccessRecord)
            and event.value.done_cycle > now)


def critical_channel(values: Iterable[Any]) -> int:
    """The DRAM channel of the transfer that completed last, from the events' values."""
    records = [v for v in values if isinstance(v, AccessRecord)]
    return max(records, key=lambda r: r.done_cycle).critical_channel if records else -1


def _keys_text(keys: Iterable[tuple[str, int, int]]) -> str:
    return ", ".join(f"{t}[{l}][t={s}]" for t, l, s in keys)


class Loader(Dma):
    """DMA read side: fetches each job's tiles ahead of the compute."""

    def __init__(self, env: simpy.Environment, name: str, shared: Shared, program: list[Job],
                 buffers: dict[str, SramBuffer], streaming: frozenset[str],
                 prefetch: Channel) -> None:
        super().__init__(env, name, shared, buffers, streaming)
        self.program, self.prefetch = program, prefetch

    def run(self) -> Generator[simpy.Event, Any, None]:
        board, env, prefetch = self.shared.scoreboard, self.env, self.prefetch
        for job in self.program:
            if job.after:
                keys = [board.ready(k) for k in job.after]
                # all written before and nothing else due: the condition would fire next
                if not (all(k.processed for k in keys) and nothing_else_due(env)):
                    yield from self.wait(simpy.AllOf(env, keys), "starved", lambda job=job:
                                         f"inputs {_keys_text(job.after)} of {job.label}")
            inputs_ready_at = env.now
            work = job.prepare()
            yield from self._reserve(work.read_buffers, job)
            channel = yield from self.shared.serialized(self._fetch(job, work))
            yield from self.wait_for(prefetch.put(Prefetched(job, work, inputs_ready_at, channel)),
                                     "stall_backpressure", lambda: f"room in {prefetch.describe()}")

    def _reserve(self, by_buffer: dict[str, int], job: Job) -> Generator:
        for name, nbytes in by_buffer.items():
            buffer = self.buffers[name]
            if name in self.streaming and not buffer.allocate_now(nbytes):
                yield from self.wait(buffer.allocate(nbytes, self.name), "stall_backpressure",
                                     lambda: f"{nbytes} B in {name} for {job.label}")

    def _fetch(self, job: Job, work: Work) -> Generator[Any, Any, int]:
        """Read the job's tiles; returns the DRAM channel that finished last (-1: none)."""
        for name, nbytes in work.holds.items():
            self.buffers[name].hold(nbytes)
        if not work.reads:
            return -1
        start = self.env.now
        done = yield from self.wait(
            self.shared.transfer(work.reads, work.read_buffers, self.buffers, Command.READ,
                                 self.name, job.phase),
            "busy", lambda: f"DRAM reads of {job.label}")
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
        stats.refetch_bytes += work.refetch_bytes
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
        self._action_names: dict[str, str] = {}  # op -> "<engine>.<op>"

    def run(self) -> Generator[simpy.Event, Any, None]:
        for job in self.program:
            work = yield from self._take_inputs(job)
            yield from self.shared.serialized(self._compute(job, work))
            self._release_inputs(work)
            for name in job.gives:
                channel = self.outputs[name]
                yield from self.wait_for(channel.put(job.label), "stall_backpressure",
                                         lambda: f"room in {channel.describe()}")
            if work.writes:
                yield from self._reserve_outputs(job, work)
                self._store((job, work))
        self._store(None)

    def _store(self, item: tuple[Job, Work] | None) -> None:
        """Hand results to the storer. If it is not waiting and nothing else is due this
        cycle, the put's event would be processed right after this process's next wait
        and find nobody to wake (only this process runs until then): skip it."""
        queue = self.store_queue
        if queue.get_queue or queue.put_queue or not nothing_else_due(self.env):
            queue.put(item)
        else:
            queue.items.append(item)  # an unbounded store grants every put at once

    def _take_inputs(self, job: Job) -> Generator[Any, Any, Work]:
        start = self.env.now
        self._waiting = lambda: f"tiles of {job.label} from {self.prefetch.describe()}"
        tile: Prefetched = yield from self.prefetch.get()
        self._waiting = None
        waited = self.env.now - start
        starved = min(waited, max(0, tile.inputs_ready_at - start))  # upstream had not written it
        cycles = self.activity.cycles
        cycles["starved"] += starved
        cycles["stall_memory"] += waited - starved
        if waited > starved and tile.dram_channel >= 0:  # blame the channel that delivered last
            self.memory_stall_by_channel[tile.dram_channel] += waited - starved
        for name in job.takes:
            channel = self.inputs[name]
            yield from self.wait_for(channel.get(), "starved",
                                     lambda: f"a tile from {channel.describe()}")
        return tile.work

    def _compute(self, job: Job, work: Work) -> Generator:
        start = self.env.now
        cost = work.cost
        yield from self.wait(self.env.timeout(cost.cycles), "busy",
                             lambda: f"computing {job.label}")
        collector = self.shared.collector
        collector.slices.append(Slice(self.name, "compute", job.phase, job.layer, job.timestep,
                                      start, self.env.now, 0))
        stats = collector.layer(job.layer, job.phase)
        stats.busy_cycles += cost.cycles
        stats.span(start, self.env.now)
        add_counts(stats.ops, self._named(cost.ops))
        add_counts(collector.actions, self._named(cost.ops))
        if cost.skipped:
            add_counts(stats.skipped, self._named(cost.skipped))
        if self.shared.on_job is not None:
            self.shared.on_job()

    def _named(self, counts: dict[str, int]) -> Iterable[tuple[str, int]]:
        """``counts`` with each action named after this engine (``fe.lut_read``)."""
        names = self._action_names
        for op, count in counts.items():
            name = names.get(op)
            if name is None:
                name = names[op] = f"{self.name}.{op}"
            yield name, count

    def _release_inputs(self, work: Work) -> None:
        for name, nbytes in work.read_buffers.items():
            self.buffers[name].record_read(nbytes)
            if name in self.streaming:
                self.buffers[name].release(nbytes)

    def _reserve_outputs(self, job: Job, work: Work) -> Generator:
        for name, nbytes in work.write_buffers.items():
            buffer = self.buffers[name]
            buffer.record_write(nbytes)
            if name in self.streaming and not buffer.allocate_now(nbytes):
                yield from self.wait(buffer.allocate(nbytes, self.name), "stall_backpressure",
                                     lambda: f"{nbytes} B in {name} for results of {job.label}")


def add_counts(totals: Counter, counts: Iterable[tuple[str, int]]) -> None:
    """``totals.update(dict(counts))``, without building the dict (once per job)."""
    for name, count in counts:
        totals[name] = count + totals.get(name, 0)


class Storer(Dma):
    """DMA write side: drains results to DRAM, then marks them ready."""

    def __init__(self, env: simpy.Environment, name: str, shared: Shared,
                 buffers: dict[str, SramBuffer], streaming: frozenset[str],
                 store_queue: simpy.Store) -> None:
        super().__init__(env, name, shared, buffers, streaming)
        self.store_queue = store_queue

    def run(self) -> Generator[simpy.Event, Any, None]:
        while True:
            self._waiting = "results to write"
            item = yield self.store_queue.get()  # nothing to write is idle time, not a stall
            self._waiting = None
            if item is None:
                return
            job, work = item
            yield from self.shared.serialized(self._write(job, work))
            for name, nbytes in work.write_buffers.items():
                self.buffers[name].record_read(nbytes)
                if name in self.streaming:
                    self.buffers[name].release(nbytes)
            for key in job.signals:
                self.shared.scoreboard.done(key)

    def _write(self, job: Job, work: Work) -> Generator:
        start = self.env.now
        yield from self.wait(self.shared.transfer(work.writes, work.write_buffers, self.buffers,
                                                  Command.WRITE, self.name, job.phase),
                             "busy", lambda: f"DRAM writes of {job.label}")
        collector = self.shared.collector
        collector.slices.append(Slice(self.name, "write", job.phase, job.layer, job.timestep,
                                      start, self.env.now, work.write_bytes))
        collector.layer(job.layer, job.phase).bytes_written += work.write_bytes
