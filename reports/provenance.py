"""Where a result came from: the tool that produced it and the input it read.

Every results file and sweep record carries ``producer`` — the distribution's
name and version and, when the package runs from a git checkout, the commit —
and ``trace`` — the input's path and the sha256 of its bytes (what
``sha256sum`` prints). A number published from a results file can then be
traced to the exact code and trace that made it, and a changed trace or tool
is visible instead of silently producing different numbers.
"""

from __future__ import annotations

import functools
import os
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from traces.identity import file_sha256

DISTRIBUTION = "h2learn-tlm"
_GIT_TIMEOUT_S = 5.0  # a git that hangs (a network filesystem) must not hang a run


def tool_version() -> str:
    """The installed distribution's version, or "unknown" when it is not installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout this package runs from; None for an installed copy.

    Only a package imported from the root of a git checkout counts: an
    installed copy sits in site-packages, which is no checkout's root even when
    the virtualenv lives inside one, so git is not even asked. A checkout with
    uncommitted changes gets ``-dirty`` appended, because its numbers may not
    be reproducible from the commit alone.
    """
    source = Path(__file__).resolve().parent.parent
    if not (source / ".git").exists():
        return None
    try:  # one git for both: every command pays for the process (~4 ms each)
        lines = _git(source, "status", "--porcelain=v2", "--branch",
                     "--untracked-files=no").splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    head = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    if head is None or head == "(initial)":  # no commit yet
        return None
    dirty = any(not line.startswith("#") for line in lines)  # a changed tracked file
    return f"{head}-dirty" if dirty else head


def _git(folder: Path, *argv: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), *argv], capture_output=True, text=True,
                          timeout=_GIT_TIMEOUT_S, check=True)
    return done.stdout.strip()


def producer() -> dict[str, Any]:
    """``{"name", "version", "git_commit"}`` of the running tool (git_commit may be None)."""
    return {"name": DISTRIBUTION, "version": tool_version(), "git_commit": git_commit()}


@functools.lru_cache(maxsize=64)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    # keyed on size and mtime too: a file rewritten in place is hashed again
    return file_sha256(path)


def input_identity(path: str | os.PathLike | None, kind: str = "trace") -> dict[str, Any]:
    """``{"kind", "path", "sha256"}`` of an input file (all None but kind when unknown)."""
    if path is None:
        return {"kind": kind, "path": None, "sha256": None}
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return {"kind": kind, "path": str(resolved),
            "sha256": _cached_sha256(str(resolved), stat.st_size, stat.st_mtime_ns)}


__all__ = ["DISTRIBUTION", "git_commit", "input_identity", "producer", "tool_version"]
