"""On-chip SRAM buffers: bounded space, counted traffic, a port that is a process.

A buffer is modelled by what it can hold, not by its contents: its occupancy is
a bounded *space* resource. A DMA process allocates the bytes of a tile before
filling it (and blocks while the buffer is full — that is the back-pressure
that bounds prefetch), the consumer releases them when done. Allocation is
strictly FIFO: a request that does not fit also holds back later, smaller ones,
as a circular buffer filled in order would.

A request larger than the whole buffer can never be granted. It blocks forever
rather than raising, on purpose: the system's deadlock detector then stops the
run and ``waiting()`` names the buffer, the process and the sizes, e.g.
``fe.input_buffer: 'fe.dma' waits for 80000 B, capacity 65536 B``.

The port is a SimPy process of its own: it moves the bytes of one request at a
time at its width, in arrival order, so a DMA filling a buffer while another
drains it waits for the port, and each buffer counts its port's busy and
contention cycles.

Counting happens here, pricing elsewhere: bytes written (fills), bytes read
(consumption), and refetch bytes — traffic that had to be read from DRAM again
because the working set did not fit and was tiled.

A request that is granted at once still costs SimPy an event, processed after
every other event already due this cycle. When no other event is due this
cycle (``nothing_else_due``), that event would be the very next one and its
processing would only run the resource's own bookkeeping, then resume the
requester: ``allocate_now`` and ``release`` then do exactly that without the
event, so the order of everything that happens, and every number, is unchanged.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass
from typing import Any

import simpy
from simpy.resources.container import ContainerPut


@dataclass
class BufferStats:
    """Counters of one buffer; ``dataclasses.asdict`` makes it JSON-ready."""

    name: str
    capacity_bytes: int
    peak_bytes: int
    bytes_read: int
    bytes_written: int
    refetch_bytes: int
    port_busy_cycles: int = 0     # cycles the port spent moving bytes
    port_wait_cycles: int = 0     # cycles requests queued behind others for the port

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def nothing_else_due(env: simpy.Environment) -> bool:
    """No event is scheduled for the current cycle: an event triggered now would be
    the next one processed."""
    return env.peek() > env.now


class _Space(simpy.Container):
    """A container that remembers its highest level."""

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        super().__init__(env, capacity=capacity, init=0)
        self.peak = 0

    def _do_put(self, event: ContainerPut) -> bool | None:
        granted = super()._do_put(event)
        self.peak = max(self.peak, self._level)
        return granted


class SramPort:
    """A buffer's port as a process: one request at a time, at ``bytes_per_cycle``, FIFO."""

    def __init__(self, env: simpy.Environment, name: str, bytes_per_cycle: int) -> None:
        self.env, self.name, self.bytes_per_cycle = env, name, bytes_per_cycle
        self._queue: deque[tuple[int, simpy.Event, float]] = deque()
        self._wake: simpy.Event | None = None
        self._serving = False
        self.busy_cycles = 0
        self.wait_cycles = 0
        self.process = env.process(self._serve())

    def free_at_once(self, nbytes: int) -> bool:
        """``move(nbytes)`` would take no cycle and wait for nobody (and count nothing)."""
        return self.cycles(nbytes) == 0 and not self._serving and not self._queue

    def cycles(self, nbytes: int) -> int:
        """Cycles to move ``nbytes``: rounded to the nearest cycle, as the DRAM rounds its
        completions, so an ideal (very wide) port costs nothing."""
        return round(nbytes / self.bytes_per_cycle) if nbytes > 0 else 0

    def move(self, nbytes: int) -> simpy.Event:
        """An event that fires when the port has moved ``nbytes`` (after those queued before)."""
        cycles = self.cycles(nbytes)
        if cycles == 0 and not self._serving and not self._queue:
            return self.env.timeout(0)  # nothing to move and nobody ahead: done now
        done = self.env.event()
        self._queue.append((cycles, done, self.env.now))
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()
        return done

    def _serve(self):
        while True:
            if not self._queue:
                self._wake = self.env.event()
                yield self._wake
            cycles, done, asked_at = self._queue.popleft()
            self._serving = True
            self.wait_cycles += int(self.env.now - asked_at)
            if cycles:
                yield self.env.timeout(cycles)
            self.busy_cycles += cycles
            self._serving = False
            done.succeed()


class SramBuffer:
    """An on-chip scratchpad of ``capacity_bytes`` with a ``port_bytes_per_cycle`` port."""

    def __init__(self, env: simpy.Environment, name: str, capacity_bytes: int,
                 port_bytes_per_cycle: int) -> None:
        if capacity_bytes <= 0 or port_bytes_per_cycle <= 0:
            raise ValueError(f"{name}: capacity_bytes and port_bytes_per_cycle must be > 0")
        self.env, self.name = env, name
        self.capacity_bytes = capacity_bytes
        self.port_bytes_per_cycle = port_bytes_per_cycle
        self.port = SramPort(env, name, port_bytes_per_cycle)
        self._space = _Space(env, capacity_bytes)
        self._who: dict[ContainerPut, str] = {}
        self.bytes_read = 0
        self.bytes_written = 0
        self.refetch_bytes = 0

    @property
    def occupied_bytes(self) -> int:
        return int(self._space.level)

    @property
    def peak_bytes(self) -> int:
        return int(self._space.peak)

    def allocate(self, nbytes: int, who: str = "") -> ContainerPut:
        """An event granted once ``nbytes`` of space are free (FIFO). ``who`` names the waiter."""
        if nbytes <= 0:
            raise ValueError(f"{self.name}: cannot allocate {nbytes} B")
        request = self._space.put(nbytes)
        if not request.triggered:
            self._who[request] = who or _active_process_name(self.env)
            request.callbacks.append(self._forget)
        return request

    def allocate_now(self, nbytes: int) -> bool:
        """Take ``nbytes`` of space without an event if that changes nothing: nothing
        else is due this cycle, nobody queues ahead and the bytes fit. False: use
        ``allocate`` and wait."""
        space = self._space
        if (space.put_queue or space.capacity - space.level < nbytes
                or not nothing_else_due(self.env) or nbytes <= 0):
            return False
        space._level += nbytes                     # the grant (_Space._do_put) ...
        space.peak = max(space.peak, space._level)
        space._trigger_get(None)                   # ... and the put event's processing
        return True

    def hold(self, nbytes: int) -> None:
        """Note a working set kept for a whole layer (weights, LUTs, neuron state).

        The schedule has already tiled it to fit, so this never blocks; it only
        counts towards the peak occupancy.
        """
        self._space.peak = max(self._space.peak, min(int(nbytes), self.capacity_bytes))

    def release(self, nbytes: int) -> None:
        """Give back space (the consumer is done with a tile)."""
        space = self._space
        if nbytes <= 0 or nbytes > space.level:
            raise ValueError(f"{self.name}: cannot release {nbytes} B, "
                             f"{space.level} B allocated")
        if space.put_queue or space.get_queue or not nothing_else_due(self.env):
            space.get(nbytes)  # its processing grants the requests the bytes now fit
        else:
            # Nobody waits for space, and the get event would be processed right after
            # this process's next wait: a request it made by then was tried at this
            # level and did not fit, so the event would grant nothing. Skip it.
            space._level -= nbytes

    def _forget(self, request: simpy.Event) -> None:
        self._who.pop(request, None)

    def waiting(self) -> list[str]:
        """Who is blocked on this buffer, for a deadlock message."""
        return [f"{self.name}: {who!r} waits for {int(req.amount)} B, capacity "
                f"{self.capacity_bytes} B ({self.occupied_bytes} B in use)"
                for req, who in self._who.items() if not req.triggered]

    def record_write(self, nbytes: int) -> None:
        self.bytes_written += nbytes

    def record_read(self, nbytes: int) -> None:
        self.bytes_read += nbytes

    def record_refetch(self, nbytes: int) -> None:
        """Bytes fetched from DRAM again because the working set was tiled."""
        self.refetch_bytes += nbytes

    def stats(self) -> BufferStats:
        return BufferStats(name=self.name, capacity_bytes=self.capacity_bytes,
                           peak_bytes=self.peak_bytes, bytes_read=self.bytes_read,
                           bytes_written=self.bytes_written, refetch_bytes=self.refetch_bytes,
                           port_busy_cycles=self.port.busy_cycles,
                           port_wait_cycles=self.port.wait_cycles)

    def trace_line(self) -> str:
        return (f"{self.name} @{self.env.now}: {self.occupied_bytes}/{self.capacity_bytes} B, "
                f"{len(self.waiting())} waiting")


def _active_process_name(env: simpy.Environment) -> str:
    process = env.active_process
    if process is None:
        return "?"
    return getattr(process, "name", None) or getattr(process._generator, "__name__", "?")
