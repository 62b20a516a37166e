"""Bounded channels between components: pipeline overlap and back-pressure.

A channel is a FIFO of fixed capacity (in tiles) built on ``simpy.Store``.
A producer that finds it full waits — that wait is back-pressure; a consumer
that finds it empty waits — that is starvation. The channel counts both
itself, per side, so no component has to guess why it was stalled.

A put into a channel with room, or a get from one with a tile, that nobody
queues ahead of and that happens while no other event is due this cycle, skips
SimPy's event: that event would be processed next and would only run the
store's own bookkeeping before resuming the caller (``memory/sram.py`` explains
the rule), so the order of everything, and every count, is unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generator

import simpy

from memory.sram import nothing_else_due


@dataclass
class ChannelStats:
    items: int = 0
    peak_items: int = 0
    put_wait_cycles: int = 0   # producers blocked on a full channel
    get_wait_cycles: int = 0   # consumers waiting on an empty channel


class Channel:
    """A bounded FIFO of tiles; ``capacity_tiles=math.inf`` makes it unbounded."""

    def __init__(self, env: simpy.Environment, name: str, capacity_tiles: float) -> None:
        if capacity_tiles < 1:
            raise ValueError(f"{name}: capacity must be >= 1 tile, got {capacity_tiles}")
        self.env = env
        self.name = name
        self.capacity_tiles = capacity_tiles
        self.stats = ChannelStats()
        self._store = simpy.Store(env, capacity=capacity_tiles)

    def put(self, item: Any) -> Generator[simpy.Event, Any, int]:
        """Put an item, waiting while the channel is full; returns cycles waited."""
        start = self.env.now
        store = self._store
        if store.put_queue or len(store.items) >= store.capacity or not nothing_else_due(self.env):
            yield store.put(item)
        else:  # granted now: the put (Store._do_put) and its event's processing
            store.items.append(item)
            store._trigger_get(None)
        waited = self.env.now - start
        self.stats.put_wait_cycles += waited
        self.stats.items += 1
        self.stats.peak_items = max(self.stats.peak_items, len(self._store.items))
        return waited

    def get(self) -> Generator[simpy.Event, Any, Any]:
        """Take the oldest item, waiting while the channel is empty."""
        start = self.env.now
        store = self._store
        if store.get_queue or not store.items or not nothing_else_due(self.env):
            item = yield store.get()
        else:  # granted now: the get (Store._do_get) and its event's processing
            item = store.items.pop(0)
            store._trigger_put(None)
        self.stats.get_wait_cycles += self.env.now - start
        return item

    @property
    def occupancy_tiles(self) -> int:
        return len(self._store.items)

    def describe(self) -> str:
        cap = "unbounded" if math.isinf(self.capacity_tiles) else f"capacity {self.capacity_tiles}"
        return f"channel {self.name} ({self.occupancy_tiles} tiles, {cap})"
