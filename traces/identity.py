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
        digest.update(dataset[()].tobytes())
        return
    for start in range(0, dataset.shape[0]):  # one leading slice at a time: memory stays flat
        digest.update(dataset[start].tobytes())
