"""The shape every simulated component shares, and how it accounts its time.

A component is constructed with the environment, a name and its config, owns
one SimPy process, and talks to others only through channels, buffers and the
DRAM. Each wait is tagged with what the component is waiting *for*; the tag
decides which activity bucket the waited cycles land in:

- ``busy``                computing a tile,
- ``stall_memory``        waiting for DRAM data it needs (or for DRAM to take a write),
- ``stall_backpressure``  blocked because a downstream channel or buffer is full,
- ``starved``             waiting for an upstream engine to produce its input,

and ``idle`` is whatever is left of the run, so the five always add up to the
total. The current wait is kept as a sentence so a deadlock can be explained.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import Any, Generator

import simpy

STATES = ("busy", "stall_memory", "stall_backpressure", "starved")


@dataclass
class Activity:
    """Cycles per state; idle is derived from the run's total."""

    busy: int = 0
    stall_memory: int = 0
    stall_backpressure: int = 0
    starved: int = 0

    def add(self, state: str, cycles: int) -> None:
        setattr(self, state, getattr(self, state) + cycles)

    def with_idle(self, total_cycles: int) -> dict[str, int]:
        counted = {f.name: getattr(self, f.name) for f in fields(self)}
        counted["idle"] = total_cycles - sum(counted.values())
        return counted


class Component(ABC):
    """Base of engines, DMAs and writers: a name, an activity account, a wait tag."""

    def __init__(self, env: simpy.Environment, name: str) -> None:
        self.env = env
        self.name = name
        self.activity = Activity()
        self.waiting_for: str | None = None
        self.process: simpy.Process | None = None

    def wait(self, event: simpy.Event, state: str, what: str) -> Generator[simpy.Event, Any, Any]:
        """Wait for ``event`` and charge the cycles to ``state``."""
        start = self.env.now
        self.waiting_for = what
        value = yield event
        self.waiting_for = None
        self.activity.add(state, self.env.now - start)
        return value

    def wait_for(self, generator: Generator, state: str, what: str) -> Generator[Any, Any, Any]:
        """Like ``wait`` for a sub-process written as a generator (e.g. a channel put)."""
        start = self.env.now
        self.waiting_for = what
        value = yield from generator
        self.waiting_for = None
        self.activity.add(state, self.env.now - start)
        return value

    @property
    def finished(self) -> bool:
        return self.process is not None and self.process.triggered

    def start(self) -> None:
        self.process = self.env.process(self.run())

    @abstractmethod
    def run(self) -> Generator[simpy.Event, Any, None]:
        """The component's one SimPy process."""
