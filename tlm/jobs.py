"""Jobs: the unit of work an engine's program is made of, and the scoreboard.

A job is one tile of one engine: which DRAM data it needs (reads), what it
computes (a pure cost, evaluated lazily from the trace when the job's DMA
reaches it, so memory stays bounded), what it hands to other engines over
on-chip channels, and what it writes back. Dependencies are explicit: a job
names the scoreboard keys — (tensor, layer, timestep) — that must be complete
in DRAM before its reads may issue, and the keys its writes complete.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import simpy

from tlm.costs.tile import TileCost
from tlm.topology import ENGINE_NAMES

Key = tuple[str, int, int]  # (tensor, layer, timestep)


@dataclass(frozen=True)
class Access:
    """One DRAM transfer of a job: a tile of one tensor, into or out of one buffer."""

    tensor: str
    layer: int
    timestep: int
    address: int
    length_bytes: int
    buffer: str
    refetch: bool = False   # a re-read forced by tiling (the data was read before)


class once:
    """A value derived from a frozen record on first use, then kept in the instance
    (functools.cached_property does the same but takes a lock each time in 3.11)."""

    def __init__(self, derive: Callable) -> None:
        self.derive, self.name = derive, derive.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.derive(instance)
        return value


@dataclass(frozen=True)
class Work:
    """What a job turns out to be once its trace tile is known."""

    reads: tuple[Access, ...]
    writes: tuple[Access, ...]
    cost: TileCost
    holds: Mapping[str, int] = field(default_factory=dict)  # working sets kept in static buffers

    # derived once per job (the loader, the compute and the storer each ask)
    @once
    def read_bytes(self) -> int:
        return sum(a.length_bytes for a in self.reads)

    @once
    def write_bytes(self) -> int:
        return sum(a.length_bytes for a in self.writes)

    @once
    def refetch_bytes(self) -> int:
        return sum(a.length_bytes for a in self.reads if a.refetch)

    @once
    def read_buffers(self) -> dict[str, int]:
        """Bytes read into each buffer, buffers in order of first use."""
        return bytes_per_buffer(self.reads)

    @once
    def write_buffers(self) -> dict[str, int]:
        """Bytes written from each buffer, buffers in order of first use."""
        return bytes_per_buffer(self.writes)


def bytes_per_buffer(accesses: Iterable[Access]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for access in accesses:
        totals[access.buffer] = totals.get(access.buffer, 0) + access.length_bytes
    return totals


@dataclass
class Job:
    engine: str
    phase: str                      # "forward" | "backward" | "weight_update"
    layer: int
    timestep: int
    label: str
    prepare: Callable[[], Work]
    after: tuple[Key, ...] = ()     # complete in DRAM before reads issue
    takes: tuple[str, ...] = ()     # on-chip channels to take one tile from each, in order
    gives: tuple[str, ...] = ()     # on-chip channels to put one tile into after compute
    signals: tuple[Key, ...] = ()   # keys this job's writes complete (one part each)


@dataclass
class Programs:
    """One program (job list) per engine; built by ``tlm.schedule`` or rebuilt by replay."""

    fe: list[Job]
    lif: list[Job]
    be: list[Job]
    wue: list[Job]

    def items(self) -> list[tuple[str, list[Job]]]:
        return [(name, getattr(self, name)) for name in ENGINE_NAMES]

    @property
    def job_count(self) -> int:
        return sum(len(jobs) for _, jobs in self.items())


@dataclass
class Scoreboard:
    """Counts outstanding parts per key; a key is ready when all parts are written."""

    env: simpy.Environment
    _pending: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    _events: dict[Key, simpy.Event] = field(default_factory=dict)

    def expect(self, key: Key) -> None:
        self._pending[key] += 1

    def done(self, key: Key) -> None:
        self._pending[key] -= 1
        if self._pending[key] == 0:
            self._events.setdefault(key, self.env.event()).succeed()

    def ready(self, key: Key) -> simpy.Event:
        if key not in self._events:
            event = self.env.event()
            if self._pending.get(key, 0) == 0:
                event.succeed()
            self._events[key] = event
        return self._events[key]


@dataclass
class RecordedJob:
    """A job together with the work it turned out to be, for record and replay."""

    job: Job
    work: Work | None = None
    prepared_cycle: int = -1

    def wrap(self, prepare: Callable[[], Work], env: simpy.Environment) -> Callable[[], Work]:
        def recording_prepare() -> Work:
            self.work = prepare()
            self.prepared_cycle = int(env.now)
            return self.work
        return recording_prepare
