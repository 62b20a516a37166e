"""Reading a small input file safely: regular files only, a bounded size.

A FIFO blocks a read forever and ``/dev/zero`` never ends, so every text input
(config, results file) is checked to be a regular file and read up to a limit.
Failures are ``OSError``s with ``strerror`` set, so callers' existing
"cannot read (…)" handling turns them into one line.
"""

from __future__ import annotations

import errno
import os
import stat


def read_regular_bytes(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The file's bytes; OSError if it is not a regular file or exceeds ``max_bytes``."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"larger than {max_bytes} bytes", os.fspath(path))
    return data


def read_regular_text(path: str | os.PathLike[str], max_bytes: int) -> str:
    """As ``read_regular_bytes``, decoded as UTF-8 (UnicodeDecodeError if it is not)."""
    return read_regular_bytes(path, max_bytes).decode("utf-8")
