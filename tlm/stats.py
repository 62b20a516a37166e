"""Statistics counted during a run: flat slice records plus running totals.

Following Ciw, every timed thing a component does is one flat record (a
``Slice``) appended to a list; timelines are derived from them. Totals that
every report needs — action counts for the energy model, per layer × phase
work and traffic — are accumulated as the run goes, so nothing has to be
recomputed from the records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple


class Slice(NamedTuple):
    """One timed activity on one track (an engine or a DMA)."""

    track: str
    kind: str        # "compute" | "read" | "write"
    phase: str
    layer: int
    timestep: int
    start: int
    end: int
    length_bytes: int


@dataclass
class LayerPhase:
    """Work and traffic of one layer in one phase."""

    busy_cycles: int = 0
    first_cycle: int | None = None
    last_cycle: int = 0
    ops: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    bytes_read: int = 0
    bytes_written: int = 0
    refetch_bytes: int = 0

    def span(self, start: int, end: int) -> None:
        self.first_cycle = start if self.first_cycle is None else min(self.first_cycle, start)
        self.last_cycle = max(self.last_cycle, end)

    @property
    def cycles(self) -> int:
        """Wall span of the layer's phase, from its first to its last activity."""
        return 0 if self.first_cycle is None else self.last_cycle - self.first_cycle


@dataclass
class Collector:
    """Everything counted during one simulated iteration."""

    slices: list[Slice] = field(default_factory=list)
    actions: Counter = field(default_factory=Counter)
    layers: dict[tuple[int, str], LayerPhase] = field(default_factory=dict)

    def layer(self, layer: int, phase: str) -> LayerPhase:
        stats = self.layers.get((layer, phase))
        if stats is None:  # (not setdefault: it built a LayerPhase, two Counters, every call)
            stats = self.layers[layer, phase] = LayerPhase()
        return stats
