"""The one way every output file is written: a temp file renamed over a regular file.

Every output of the project (trace, recording, results JSON/CSV, timeline,
sweep metrics, provenance) goes through ``AtomicTarget``: the data is written
to a hidden temp file next to the target, flushed to disk, and renamed over
the target only when complete, so a killed run never leaves half a file.

The rules, so that an output never destroys what is not ours:

- the path may not be empty, a directory, or in a missing or read-only folder;
  ``check_target`` says so, naming the user's path, before any work is done;
- an existing target must be a regular file (symlinks are followed, so the
  file they point at is replaced and the link kept); a FIFO, a device node or
  a socket is refused, never renamed over;
- a full disk is an error (the temp file is fsync'ed before the rename, so
  the error surfaces while the old target is still intact);
- temp files left by a killed earlier run (their writer's pid is gone) are
  removed when the same target is written again.

Failures are ``OSError``s carrying the user's path, so callers' existing
"<path>: cannot write: <reason>" handling prints one line.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TEMP_SUFFIX = ".tmp"


def default_file_mode() -> int:
    """0o666 minus the process umask: the mode ``open()`` would have given."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def say_wrote(path: str | os.PathLike[str]) -> None:
    """One "wrote PATH (size)" line on stderr per file written (stdout may carry data)."""
    size_bytes = Path(path).stat().st_size
    size = f"{size_bytes / 1e6:.1f} MB" if size_bytes >= 1e6 else f"{size_bytes / 1e3:.1f} kB"
    print(f"wrote {os.fspath(path)} ({size})", file=sys.stderr)


def _refuse(code: int, reason: str, path: str | os.PathLike[str]) -> OSError:
    return OSError(code, reason, os.fspath(path))


def check_target(path: str | os.PathLike[str]) -> Path:
    """Check an output path before any work; return the file that will be replaced."""
    if not os.fspath(path).strip():
        raise _refuse(errno.EINVAL, "the output path is empty", path)
    target = Path(path).resolve()
    if target.is_dir():
        raise _refuse(errno.EISDIR, "is a directory", path)
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        raise _refuse(errno.EINVAL, "exists and is not a regular file (a FIFO, device or "
                      "socket); refusing to replace it", path)
    if not target.parent.is_dir():
        raise _refuse(errno.ENOENT, f"directory {Path(path).parent} does not exist", path)
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise _refuse(errno.EACCES, f"directory {Path(path).parent} is not writable", path)
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_temps(target: Path) -> None:
    """Remove ``.<name>.<pid>.<token>.tmp`` files whose writing process is gone."""
    for tmp in target.parent.glob(f".{target.name}.*{TEMP_SUFFIX}"):
        parts = tmp.name[len(target.name) + 2:].split(".")
        if len(parts) == 3 and parts[0].isdigit() and not _pid_alive(int(parts[0])):
            tmp.unlink(missing_ok=True)


def fsync_path(path: Path) -> None:
    """Flush a written file to disk, so that a full disk is an error now, not later."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicTarget:
    """One output file: ``temp`` to write into, then ``commit()`` or ``abandon()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.target = check_target(path)
        clean_stale_temps(self.target)
        token = os.urandom(4).hex()  # as secrets.token_hex, without importing secrets (hmac, base64, random)
        self.temp = self.target.parent / f".{self.target.name}.{os.getpid()}.{token}{TEMP_SUFFIX}"
        try:
            os.close(os.open(self.temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise _refuse(exc.errno or errno.EIO, f"cannot create a file next to it "
                          f"({exc.strerror})", path) from None

    def commit(self) -> None:
        """Flush the temp file and rename it over the target (which must still be regular)."""
        try:
            fsync_path(self.temp)
            if self.target.exists() and not stat.S_ISREG(self.target.stat().st_mode):
                raise _refuse(errno.EINVAL, "became a non-regular file while writing", self.path)
            mode = stat.S_IMODE(self.target.stat().st_mode) if self.target.exists() \
                else default_file_mode()
            os.chmod(self.temp, mode)  # the temp file is 0600; give the usual (or the old) mode
            os.replace(self.temp, self.target)
        except OSError as exc:
            self.abandon()
            raise _refuse(exc.errno or errno.EIO, exc.strerror or str(exc), self.path) from None

    def abandon(self) -> None:
        self.temp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path to write; it replaces ``path`` only if the block succeeds."""
    out = AtomicTarget(path)
    try:
        yield out.temp
    except BaseException:
        out.abandon()
        raise
    out.commit()


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to ``path`` atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as temp:
        try:
            with open(temp, "wb") as handle:
                handle.write(payload)
        except OSError as exc:
            raise _refuse(exc.errno or errno.EIO, exc.strerror or str(exc), path) from None
