"""Checks of a recorded transaction stream as it is read (issue: replay trusts its recording).

``check_header`` checks the header's keys and types and, when the file carries
one, its sha256 (an edited header — ``config.fe.lut_k`` 4 -> 8 — would relabel
the k=4 stream as k=8). ``check_tables`` checks one iteration's tables against
the reader's ``TableSpec``: the table names, 1-D datasets of the expected
dtypes, codes within the header's vocabulary, flags 0/1, non-negative counts,
job references in range and in job order. All checks are vectorised numpy
over whole columns: cheap next to the replay itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from traces.errors import TraceError

# header key -> accepted types (JSON)
HEADER_KEYS: dict[str, tuple[type, ...]] = {
    "network": (dict,), "timesteps": (int,), "batch": (int,), "workload": (str,),
    "dataset": (str,), "config": (dict,), "vocabulary": (dict,)}


def header_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_header(file: str, header: Any, text: str, digest: Any) -> dict[str, Any]:
    """The header as a dict, its keys, types and (if stored) sha256 checked."""
    if digest is not None and str(digest) != header_digest(text):
        raise TraceError(file, "/@header", "does not match its sha256 (/@header_sha256): the "
                         "header was edited after recording")
    if not isinstance(header, dict):
        raise TraceError(file, "/@header", f"expected a JSON object, found {type(header).__name__}")
    for key, types in HEADER_KEYS.items():
        value = header.get(key)
        if not isinstance(value, types) or isinstance(value, bool):
            raise TraceError(file, f"/@header/{key}", f"expected {types[0].__name__}, "
                             f"found {type(value).__name__}")
    for key in ("timesteps", "batch"):
        if not 1 <= header[key] <= 1 << 20:
            raise TraceError(file, f"/@header/{key}", f"expected 1 .. {1 << 20}, found {header[key]}")
    for name, words in header["vocabulary"].items():
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise TraceError(file, f"/@header/vocabulary/{name}", "expected a list of strings")
    return header


@dataclass(frozen=True)
class TableSpec:
    """What a reader expects of a recording's tables (the reader owns their meaning)."""

    dtypes: Mapping[str, np.dtype | None]          # table -> dtype (None: strings)
    jobs_table: str                                 # one row per job
    codes: Mapping[str, str] = field(default_factory=dict)   # column -> vocabulary list
    flags: tuple[str, ...] = ()                     # columns that are 0 or 1
    non_negative: tuple[str, ...] = ()              # columns that are >= 0
    limits: Mapping[str, int] = field(default_factory=dict)  # column -> exclusive upper bound


def _check_column(file: str, where: str, column: str, values: np.ndarray, spec: TableSpec,
                  vocabulary: Mapping[str, list[str]], jobs: int) -> None:
    bad = None
    if column in spec.codes:
        size = len(vocabulary.get(spec.codes[column], []))
        bad = (values < 0) | (values >= size), f"codes in 0 .. {size - 1} (the vocabulary)"
    elif column in spec.flags:
        bad = (values != 0) & (values != 1), "0 or 1"
    elif column in spec.limits:
        bad = (values < 0) | (values >= spec.limits[column]), f"0 .. {spec.limits[column] - 1}"
    elif column in spec.non_negative:
        bad = values < 0, "non-negative values"
    elif column == "job":
        bad = (values < 0) | (values >= jobs), f"job numbers in 0 .. {jobs - 1}"
        if values.size > 1 and np.any(np.diff(values) < 0):
            raise TraceError(file, f"{where}/{column}", "expected rows in job order")
    if bad is not None and np.any(bad[0]):
        row = int(np.argmax(bad[0]))
        raise TraceError(file, f"{where}/{column}", f"expected {bad[1]}, found "
                         f"{values[row]} at row {row}")


def check_tables(file: str, where: str, tables: Mapping[str, np.ndarray], spec: TableSpec,
                 vocabulary: Mapping[str, list[str]]) -> None:
    """One iteration's tables against ``spec``; TraceError naming table and column."""
    if sorted(tables) != sorted(spec.dtypes):
        raise TraceError(file, where, f"expected tables {', '.join(sorted(spec.dtypes))}, "
                         f"found {', '.join(sorted(tables)) or 'none'}")
    for name, dtype in spec.dtypes.items():
        table = tables[name]
        if table.ndim != 1 or (dtype is not None and table.dtype != dtype):
            raise TraceError(file, f"{where}/{name}", f"expected a 1-D table of {dtype or 'strings'}, "
                             f"found {table.dtype} {table.shape}")
    jobs = len(tables[spec.jobs_table])
    for name, dtype in spec.dtypes.items():
        if dtype is None:
            if len(tables[name]) != jobs:
                raise TraceError(file, f"{where}/{name}", f"expected {jobs} rows (one per job), "
                                 f"found {len(tables[name])}")
            continue
        for column in dtype.names or ():
            _check_column(file, f"{where}/{name}", column, tables[name][column], spec,
                          vocabulary, jobs)
