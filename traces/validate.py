"""Validating a trace file against schema v1, down to the last padding bit.

``validate_trace(path)`` returns a ``TraceSummary`` or raises ``TraceError``
with one line naming the file, the dataset or attribute, what was expected and
what was found. ``open_trace`` already checks the whole structure on open
(header, iteration and layer groups, attributes, dataset dtypes, shapes and
chunks; ``traces.structure``); validation then reads every stored tensor one
timestep at a time, so the reader's data checks see every byte: zero padding
bits, ``du_nonzero == (du_values != 0)`` where values are stored, and the
fletcher32 checksums of files that have them. Memory stays that of one
timestep, as in replay.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from traces.errors import TraceError
from traces.reader import TraceReader, open_trace


@dataclass(frozen=True)
class TraceSummary:
    """What a valid trace holds, for the one-line 'ok' report."""

    path: str
    schema_version: str
    workload: str
    producer: str
    iterations: int
    layers: tuple[str, ...]
    timesteps: int
    batch: int
    has_du_values: bool
    file_bytes: int


def validate_trace(path: str | os.PathLike[str],
                   progress: Callable[[int, int], None] | None = None) -> TraceSummary:
    """Check a whole trace file; return its summary or raise TraceError (one line)."""
    with open_trace(path) as reader:
        try:
            reader.verify_unread()  # nothing read yet: every tensor, one timestep at a time
            if progress is not None:
                progress(reader.meta.iterations, reader.meta.iterations)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise TraceError(reader.path, "/iterations", f"cannot read: {exc}") from None
        meta = reader.meta
        return TraceSummary(str(reader.path), meta.schema_version, meta.workload, meta.producer,
                            meta.iterations, tuple(s.name for s in meta.network.layers),
                            meta.timesteps, meta.batch, reader.has_du_values, reader.file_bytes)
