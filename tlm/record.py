"""What one simulated iteration leaves behind: a plain, frozen record.

No live simulator object leaves a run: the reports, the API and replay read only
these numbers and arrays (and the configuration), so a record can be kept, compared,
pickled to a worker and back, or read long after its SimPy environment is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from memory.dram_stats import DramRecord
from memory.presets import DramPreset
from memory.sram import BufferStats
from tlm.jobs import RecordedJob
from tlm.stats import LayerPhase, Slice


@dataclass(frozen=True)
class LayerTotals:
    """Work and traffic of one layer in one phase, at the end of the run."""

    cycles: int               # wall span from its first to its last activity
    busy_cycles: int
    ops: Mapping[str, int]
    skipped: Mapping[str, int]
    bytes_read: int
    bytes_written: int
    refetch_bytes: int

    @classmethod
    def of(cls, live: LayerPhase) -> "LayerTotals":
        return cls(live.cycles, live.busy_cycles, dict(live.ops), dict(live.skipped),
                   live.bytes_read, live.bytes_written, live.refetch_bytes)


@dataclass(frozen=True)
class IterationRun:
    """Everything measured while simulating one training iteration."""

    total_cycles: int
    activity: Mapping[str, Mapping[str, int]]     # component -> state -> cycles (incl. idle)
    slices: tuple[Slice, ...]                     # every timed activity, in order
    actions: Mapping[str, int]                    # priced actions (ops) by name
    layers: Mapping[tuple[int, str], LayerTotals]  # (layer, phase) -> totals
    dram: DramRecord
    preset: DramPreset
    buffers: Mapping[str, BufferStats]
    channels: Mapping[str, Mapping[str, int]]     # on-chip channel -> its counters
    jobs: int
    events: int
    phases: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # phase -> (first, last)
    memory_stalls: Mapping[str, Mapping[int, int]] = field(default_factory=dict)  # engine -> channel
    recorded: tuple[RecordedJob, ...] | None = None                      # with record=True

    def __repr__(self) -> str:
        return (f"IterationRun({self.total_cycles} cycles, {self.jobs} jobs, "
                f"{len(self.slices)} slices, {self.events} events)")
