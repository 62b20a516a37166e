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
from typing import Any, Generator

import simpy

from tlm.topology import IDLE, WAIT_STATES


class Activity:
    """Cycles per waiting state (``topology.WAIT_STATES``); idle is derived from the total."""

    def __init__(self) -> None:
        self.cycles = dict.fromkeys(WAIT_STATES, 0)

    def add(self, state: str, cycles: int) -> None:
        self.cycles[state] += cycles  # an unknown state is a KeyError, not a new bucket

    def with_idle(self, total_cycles: int) -> dict[str, int]:
        return {**self.cycles, IDLE: total_cycles - sum(self.cycles.values())}


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
