"""What a trace *is*, as two hashes: the bytes of the file and the content.

``file_sha256`` is the plain sha256 of the file as stored: what a user checks
with ``sha256sum`` and what provenance records. ``content_sha256`` hashes what
the simulator reads — every dataset's name, dtype, shape and values, and every
attribute — in sorted order, so two files that hold the same trace compare
equal even when HDF5 laid them out differently (chunk order, free space,
creation timestamps), and a trace rebuilt from one recipe on another machine
can be checked against the documented hash.
"""

from __future__ import annotations

import hashlib
import os

_BLOCK_BYTES = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


HASH_BLOCK_BYTES = 1 << 20


def content_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of the trace's datasets and attributes, layout-independent."""
    import h5py  # deferred: callers that only need file_sha256 skip the import

    digest = hashlib.sha256()
    with h5py.File(path, "r") as f:
        _hash_attrs(digest, "/", f.attrs)
        names: list[str] = []
        f.visit(names.append)
        for name in sorted(names):
            obj = f[name]
            _hash_attrs(digest, name, obj.attrs)
            if isinstance(obj, h5py.Dataset):
                _hash_dataset(digest, name, obj)
    return digest.hexdigest()


def _hash_attrs(digest: "hashlib._Hash", where: str, attrs) -> None:
    import numpy as np

    for key in sorted(attrs.keys()):
        # tolist(), not repr: numpy elides long arrays in repr ("...")
        value = np.asarray(attrs[key]).tolist()
        digest.update(f"@{where}/{key}={value!r}\n".encode())


def _hash_dataset(digest: "hashlib._Hash", name: str, dataset) -> None:
    digest.update(f"#{name}:{dataset.dtype.str}:{dataset.shape}\n".encode())
    if dataset.size == 0:
        return
    if dataset.ndim == 0:
        digest.update(_bytes(dataset[()]))
        return
    # blocks of leading rows, about a MiB each: memory stays flat, and the bytes fed to
    # the digest are those of one row after another whatever the block size
    row_bytes = max(1, dataset.size // dataset.shape[0] * dataset.dtype.itemsize)
    rows = max(1, HASH_BLOCK_BYTES // row_bytes)
    for start in range(0, dataset.shape[0], rows):
        block = dataset[start:start + rows]
        if block.dtype.kind == "O":   # variable-length strings: each one length-prefixed
            for item in block.reshape(-1).tolist():
                digest.update(_bytes(item))
        else:
            digest.update(block.tobytes())


def _bytes(value) -> bytes:
    if isinstance(value, (bytes, str)):
        data = value.encode() if isinstance(value, str) else value
        return len(data).to_bytes(8, "little") + data
    return value.tobytes()
