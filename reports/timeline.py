"""Chrome Trace Event timeline (opens in ui.perfetto.dev)."""

from __future__ import annotations

import gzip
import json


def timeline_bytes(runs, path: str) -> bytes:
    events = []
    offset = 0
    for run in runs:
        for s in run.collector.slices:
            events.append({"name": s.kind, "ph": "X", "ts": (offset + s.start) / 1000,
                           "dur": (s.end - s.start) / 1000, "pid": 1, "tid": s.track})
        offset += run.total_cycles
    data = json.dumps({"traceEvents": events}).encode()
    return gzip.compress(data) if path.endswith(".gz") else data
