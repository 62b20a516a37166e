"""Writing results files atomically: JSON, CSV per layer.

Every file is written to a temporary file in the target directory and renamed
into place, so an interrupted run never leaves a half-written output.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from reports.results import Results
from traces.files import read_regular_text

# a results file is tens of kB; a limit keeps a FIFO or a huge file from stalling a reader
RESULTS_MAX_BYTES = 64 << 20


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    target = Path(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, mode) as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
LAYER_OPS = ("fe.add", "fe.lut_read", "fe.lut_write", "fe.weight_read", "be.mac",
             "wue.add", "wue.lut_read", "wue.lut_write", "wue.mul",
             "lif.add", "lif.compare", "lif.mul", "lif.select")


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
