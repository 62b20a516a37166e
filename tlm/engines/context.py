"""What every job builder needs: the config, the network, the layout and the trace.

Also the one tiling rule shared by all engines: a tile is one timestep of a
chunk of samples, and a chunk is as many samples as fit the smallest of the
streaming buffers it passes through, divided by the prefetch depth (so that
``prefetch_tiles`` tiles can be in flight — double buffering by default). At
least one sample: if one sample does not fit, the buffer cannot hold a tile
and the run stops with a deadlock report naming that buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tlm.config import SystemConfig, kib  # noqa: F401  (kib: the engines import it here)
from tlm.layout import Layout
from tlm.traceview import TraceView
from traces.network import Network


@dataclass
class Context:
    cfg: SystemConfig
    network: Network
    timesteps: int
    batch: int
    layout: Layout
    trace: TraceView | None
    memo: dict[Any, Any] = field(default_factory=dict)  # counts shared by consecutive jobs

    def chunks(self, *fits: tuple[int, int]) -> list[slice]:
        """Sample chunks; each ``(capacity_bytes, bytes_per_sample)`` bounds the size."""
        depth = self.cfg.pipeline.prefetch_tiles
        size = self.batch
        for capacity_bytes, per_sample_bytes in fits:
            if per_sample_bytes > 0:
                size = min(size, capacity_bytes // depth // per_sample_bytes)
        size = max(1, size)
        return [slice(b, min(b + size, self.batch)) for b in range(0, self.batch, size)]

