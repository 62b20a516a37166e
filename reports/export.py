"""Writing results files atomically: JSON, CSV per layer.

Every file goes through ``traces.atomic.write_atomic`` (the project's one
atomic writer): a temp file renamed over a regular file, so an interrupted run
never leaves a half-written output and a FIFO or device is never replaced.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any

from reports.energy import COMPUTE_COMPONENTS
from reports.results import Results
from traces.atomic import write_atomic  # noqa: F401  (the one atomic writer; callers import it here)
from traces.files import read_regular_text

# a results file is tens of kB; a limit keeps a FIFO or a huge file from stalling a reader
RESULTS_MAX_BYTES = 64 << 20


def _finite(value: Any) -> Any:
    """JSON has no inf/nan: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def results_json(results: Results) -> str:
    return json.dumps(_finite(results.to_dict()), indent=2, sort_keys=False) + "\n"


# Every operation an engine counts (tlm/costs), so that the per-layer CSV has the same
# columns for every network and configuration (0 where a layer did none). An op not
# listed here still gets its columns, after these, rather than being dropped.
LAYER_OPS = tuple(COMPUTE_COMPONENTS)  # every action the energy model prices, in its order


def layers_csv(results: Results) -> str:
    seen = {op for row in results.layers for op in (*row["ops"], *row["skipped"])}
    ops = [*LAYER_OPS, *sorted(seen - set(LAYER_OPS))]
    columns = ["index", "name", "kind", "phase", "cycles", "busy_cycles", "bytes_read",
               "bytes_written", "refetch_bytes"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns + [f"ops_{op}" for op in ops] + [f"skipped_{op}" for op in ops])
    for row in results.layers:
        writer.writerow([row[c] for c in columns] + [row["ops"].get(op, 0) for op in ops]
                        + [row["skipped"].get(op, 0) for op in ops])
    return out.getvalue()


def load_results(path: str | os.PathLike) -> Results:
    return Results.from_dict(json.loads(read_regular_text(path, RESULTS_MAX_BYTES)))
