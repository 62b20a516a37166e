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
from typing import Any, Callable, Iterator, Mapping

import h5py
import numpy as np

from traces.errors import TraceError
from traces.atomic import atomic_path
from traces.probe import probe_metadata
from traces.txcheck import TableSpec, check_header, check_tables, header_digest

SCHEMA_NAME = "h2learn-tx-stream"
SCHEMA_VERSION = "1.0.0"
CHUNK_ROWS = 16384
MAX_ROWS = 1 << 31  # a table longer than this is damage (a run records ~10^6 rows)


def write_stream(path: str | os.PathLike, header: Mapping[str, Any],
                 iterations: list[Mapping[str, np.ndarray]]) -> None:
    """Write ``iterations`` (each a dict of table name -> 1-D array) atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        text = json.dumps(header)
        h5.attrs.update({"schema": SCHEMA_NAME, "schema_version": SCHEMA_VERSION,
                         "header": text, "header_sha256": header_digest(text),
                         "iterations": len(iterations)})
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


class StreamReader:
    """An open recording: its checked header and layout, then its iterations one at a time.

    Opening probes the file once (in a forked child, ``traces/probe.py``) and opens
    it once; use ``open_stream``.
    """

    def __init__(self, path: str | os.PathLike, probe: bool = True) -> None:
        self.file = str(path)
        self._h5 = _open(path, probe)
        try:
            self.header = _checked(self.file, "/@header", "cannot read",
                                   lambda: _header(path, self._h5))
            self.iterations = _checked(self.file, "/", "cannot read the layout",
                                       lambda: _layout(self.file, self._h5))
        except BaseException:
            self._h5.close()
            raise

    def close(self) -> None:
        self._h5.close()

    def __enter__(self) -> "StreamReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tables(self, spec: TableSpec | None = None) -> Iterator[dict[str, np.ndarray]]:
        """The tables of each recorded iteration, one at a time; checked against ``spec``."""
        for index in range(self.iterations):
            where = f"/iterations/{index}"
            try:
                group = self._h5[where]
                tables = {name: _read_table(self.file, where, group, name) for name in group}
            except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
                raise TraceError(self.file, where, f"cannot read: {exc}") from None
            if spec is not None:
                check_tables(self.file, where, tables, spec, self.header["vocabulary"])
            yield tables


def open_stream(path: str | os.PathLike) -> StreamReader:
    return StreamReader(path)


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    with open_stream(path) as stream:
        return stream.header


def read_stream(path: str | os.PathLike, spec: TableSpec | None = None
                ) -> Iterator[dict[str, np.ndarray]]:
    """The tables of each recorded iteration, one at a time; checked against ``spec``."""
    with open_stream(path) as stream:
        yield from stream.tables(spec)


def _checked(file: str, where: str, what: str, read: Callable[[], Any]) -> Any:
    """``read()``, an error the HDF5 library raises while reading as one TraceError."""
    try:
        return read()
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise TraceError(file, where, f"{what}: {exc}") from None


def _layout(file: str, h5: h5py.File) -> int:
    """The number of recorded iterations, their groups checked to be 0 .. count-1."""
    count = _header_attr(file, h5, "iterations")
    count = count.item() if isinstance(count, np.generic) else count
    if not isinstance(count, int) or not 1 <= count <= 1 << 16:
        raise TraceError(file, "/@iterations", f"expected an integer in 1 .. 65536, "
                         f"found {count!r}")
    group = h5.get("iterations")
    found = sorted(group) if isinstance(group, h5py.Group) else []
    if found != sorted(str(k) for k in range(count)):
        raise TraceError(file, "/iterations", f"expected groups 0..{count - 1}, found {found[:6]}")
    return count


def _read_table(file: str, where: str, group: h5py.Group, name: str) -> np.ndarray:
    dataset = group.get(name)
    if not isinstance(dataset, h5py.Dataset):
        raise TraceError(file, f"{where}/{name}", "expected a dataset")
    if dataset.ndim != 1 or dataset.shape[0] > MAX_ROWS:
        raise TraceError(file, f"{where}/{name}", f"expected a 1-D table of at most {MAX_ROWS} "
                         f"rows, found shape {dataset.shape}")
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return np.array(dataset.asstr()[()], dtype=object)
    return dataset[()]


def is_stream(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a recorded transaction stream (a readable one, by its schema)."""
    try:
        _open(path).close()
    except TraceError:
        return False
    return True


def _open(path: str | os.PathLike, probe: bool = True) -> h5py.File:
    if not Path(path).exists():
        raise TraceError(str(path), "file", "no such file")
    if not Path(path).is_file():  # a FIFO would block h5py's open forever
        raise TraceError(str(path), "file", "not a regular file")
    try:
        if not h5py.is_hdf5(path):
            raise OSError("no HDF5 signature")
        if probe:  # damaged metadata can crash or hang libhdf5 itself: open in a child first
            probe_metadata(path, lambda: StreamReader(path, probe=False).close())
        h5 = h5py.File(path, "r")
    except OSError:
        raise TraceError(str(path), "file", "not an HDF5 file (or truncated)") from None
    try:
        schema = h5.attrs.get("schema")
        version = str(h5.attrs.get("schema_version", ""))
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        h5.close()
        raise TraceError(str(path), "/", f"cannot read attributes: {exc}") from None
    if schema != SCHEMA_NAME:
        h5.close()
        raise TraceError(str(path), "/@schema", f"expected {SCHEMA_NAME!r}, found {schema!r}")
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
    text = _header_attr(path, h5, "header")
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if not isinstance(text, str):
        raise TraceError(str(path), "/@header", "expected a JSON text")
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise TraceError(str(path), "/@header", "expected a JSON object") from None
    return check_header(str(path), header, text, h5.attrs.get("header_sha256"))
