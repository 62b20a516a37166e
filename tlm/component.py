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
total. The current wait is kept as a sentence so a deadlock can be explained; a
wait may give it as a function that formats it, called only when it is read (a
deadlock, a test): most waits end without anyone asking.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Generator

import simpy

from tlm.topology import IDLE, WAIT_STATES


# a wait's description: the sentence, or a function that formats it when asked
Description = str | Callable[[], str]


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
        self._waiting: Description | None = None
        self.process: simpy.Process | None = None

    @property
    def waiting_for(self) -> str | None:
        """What the component waits for now, as a sentence (None: it is not waiting)."""
        what = self._waiting
        return what() if callable(what) else what

    @waiting_for.setter
    def waiting_for(self, what: Description | None) -> None:
        self._waiting = what

    def wait(self, event: simpy.Event, state: str, what: Description
             ) -> Generator[simpy.Event, Any, Any]:
        """Wait for ``event`` and charge the cycles to ``state``."""
        start = self.env.now
        self._waiting = what
        value = yield event
        self._waiting = None
        self.activity.cycles[state] += self.env.now - start
        return value

    def wait_for(self, generator: Generator, state: str, what: Description
                 ) -> Generator[Any, Any, Any]:
        """Like ``wait`` for a sub-process written as a generator (e.g. a channel put)."""
        start = self.env.now
        self._waiting = what
        value = yield from generator
        self._waiting = None
        self.activity.cycles[state] += self.env.now - start
        return value

    @property
    def finished(self) -> bool:
        return self.process is not None and self.process.triggered

    def start(self) -> None:
        self.process = self.env.process(self.run())

    @abstractmethod
    def run(self) -> Generator[simpy.Event, Any, None]:
        """The component's one SimPy process."""
