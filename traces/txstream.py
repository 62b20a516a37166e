"""HDF5 storage of a recorded transaction stream (schema ``h2learn-tx-stream``).

A recording holds, per simulated iteration, a handful of flat tables (numpy
structured arrays) describing every job of every engine and every DRAM
transaction it issued, with the dependencies needed to re-time it; the
meaning of the tables is ``tlm/app/replay.py``'s business. This module only stores
and loads them: chunked, gzip-compressed, versioned, written atomically.

Layout::

    /                   attrs: schema, schema_version, header (JSON), iterations
    /iterations/<i>/    one dataset per table, plus ``labels`` (UTF-8 strings)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from traces.errors import TraceError
from traces.atomic import atomic_path

SCHEMA_NAME = "h2learn-tx-stream"
SCHEMA_VERSION = "1.0.0"
CHUNK_ROWS = 16384


def write_stream(path: str | os.PathLike, header: Mapping[str, Any],
                 iterations: list[Mapping[str, np.ndarray]]) -> None:
    """Write ``iterations`` (each a dict of table name -> 1-D array) atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update({"schema": SCHEMA_NAME, "schema_version": SCHEMA_VERSION,
                         "header": json.dumps(header), "iterations": len(iterations)})
        for index, tables in enumerate(iterations):
            group = h5.create_group(f"iterations/{index}")
            for name, table in tables.items():
                _write_table(group, name, table)


def _write_table(group: h5py.Group, name: str, table: np.ndarray) -> None:
    if table.dtype.kind in "OU":
        group.create_dataset(name, data=[str(v) for v in table], dtype=h5py.string_dtype())
        return
    chunks = (min(CHUNK_ROWS, max(1, len(table))),)
    group.create_dataset(name, data=table, chunks=chunks, compression="gzip", shuffle=True,
                         fletcher32=True)  # a flipped bit is a read error, not a new stream


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    with _open(path) as h5:
        return _header(path, h5)


def read_stream(path: str | os.PathLike) -> Iterator[dict[str, np.ndarray]]:
    """The tables of each recorded iteration, one iteration at a time."""
    with _open(path) as h5:
        count = int(_header_attr(path, h5, "iterations"))
        for index in range(count):
            where = f"iterations/{index}"
            if where not in h5:
                raise TraceError(str(path), f"/{where}", "missing iteration group")
            group = h5[where]
            yield {name: _read_table(group[name]) for name in group}


def _read_table(dataset: h5py.Dataset) -> np.ndarray:
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return np.array(dataset.asstr()[()], dtype=object)
    return dataset[()]


def _open(path: str | os.PathLike) -> h5py.File:
    if not Path(path).exists():
        raise TraceError(str(path), "file", "no such file")
    if not Path(path).is_file():  # a FIFO would block h5py's open forever
        raise TraceError(str(path), "file", "not a regular file")
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise TraceError(str(path), "file", "not an HDF5 file (or truncated)") from None
    schema = h5.attrs.get("schema")
    if schema != SCHEMA_NAME:
        h5.close()
        raise TraceError(str(path), "/@schema", f"expected {SCHEMA_NAME!r}, found {schema!r}")
    version = str(h5.attrs.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        h5.close()
        raise TraceError(str(path), "/@schema_version",
                         f"expected major version {SCHEMA_VERSION.split('.')[0]}, found {version!r}")
    return h5


def _header_attr(path: str | os.PathLike, h5: h5py.File, name: str) -> Any:
    if name not in h5.attrs:
        raise TraceError(str(path), f"/@{name}", "missing attribute")
    return h5.attrs[name]


def _header(path: str | os.PathLike, h5: h5py.File) -> dict[str, Any]:
    try:
        return json.loads(_header_attr(path, h5, "header"))
    except json.JSONDecodeError:
        raise TraceError(str(path), "/@header", "expected a JSON object") from None
