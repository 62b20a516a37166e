"""Open an HDF5 file once in a forked child before this process touches it.

libhdf5 trusts what it reads: a flipped bit in an attribute's global-heap entry
or in an object header can crash it (SIGSEGV) or make it loop forever
(``benchmarks/fuzz.py`` found both, in ``trace check``, ``run`` and ``replay``).
Python can catch neither. So every object header, every attribute and every
string dataset is first read in a child process: a child that crashes, or does
not finish within ``PROBE_TIMEOUT_S``, becomes one ``TraceError`` line. The child
then also runs the caller's own opening code (attributes looked up by name take
other paths through the library than a walk), so a clean child means the same
reads are safe here (the library is deterministic).
Errors Python can catch are left to the caller's own checks, which name the
dataset or attribute. Without ``os.fork`` (Windows), or where other threads run
(a Dask worker's thread pool), the probe is skipped.
"""

from __future__ import annotations

import faulthandler
import math
import os
import select
import signal
import stat
import threading
import time
from typing import Callable

import h5py

from traces.errors import TraceError

# an honest file's metadata reads in milliseconds; a damaged one either fails fast or loops
PROBE_TIMEOUT_S = 15.0


def _read_metadata(path: str) -> None:
    with h5py.File(path, "r") as h5:
        objects: list[h5py.HLObject] = [h5]
        h5.visititems(lambda name, obj: objects.append(obj) and None)
        for obj in objects:
            for key in obj.attrs:
                obj.attrs[key]
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "O":
                obj[()]  # variable-length strings live in the same global heap


def _child(path: str, opener: Callable[[], object] | None) -> None:
    # a crash here is expected and reported by the parent as one line: no dump from
    # faulthandler (PYTHONFAULTHANDLER, pytest) on the user's terminal
    faulthandler.disable()
    for step in (lambda: _read_metadata(path), opener):
        try:
            if step is not None:
                step()
        except BaseException:  # noqa: B036 - a Python-level error is the caller's to report
            pass
    os._exit(0)


def wait_child(pid: int, timeout_s: float) -> int | None:
    """The child's wait status, or None after killing it at ``timeout_s``.

    Wakes the moment the child exits: its pidfd becomes readable then. A polling
    loop with a growing sleep overslept a child that ran for t by up to ~t.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: poll instead
        return _poll_child(pid, timeout_s)
    try:
        poller = select.poll()  # not select.select: a pidfd may be above FD_SETSIZE
        poller.register(pidfd, select.POLLIN)
        exited = poller.poll(max(0, math.ceil(timeout_s * 1000)))
    finally:
        os.close(pidfd)
    if not exited:
        _kill(pid)
        return None
    return os.waitpid(pid, 0)[1]


def _poll_child(pid: int, timeout_s: float) -> int | None:
    """Without pidfds: poll with a growing sleep (wakes up to ~2x the child's time late)."""
    deadline, pause_s = time.monotonic() + timeout_s, 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            _kill(pid)
            return None
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.05)


def _kill(pid: int) -> None:
    """Kill a child that did not finish and reap it: no zombie is left."""
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def probe_metadata(path: str | os.PathLike[str], opener: Callable[[], object] | None = None
                   ) -> None:
    """Raise TraceError if reading the file's metadata, or ``opener()``, crashes or hangs
    the HDF5 library."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        # a fork copies only this thread: had another one held h5py's lock, the
        # child would wait on it forever and a valid file would time out
        return
    file = os.fspath(path)
    try:
        if not stat.S_ISREG(os.stat(file).st_mode):
            return  # a FIFO would block the child: the caller's own checks refuse it
    except OSError:
        return  # missing, unreadable: the caller says so, naming the path
    pid = os.fork()
    if pid == 0:
        _child(file, opener)
    status = wait_child(pid, PROBE_TIMEOUT_S)
    if status is None:
        raise TraceError(file, "/", "damaged HDF5 metadata: the HDF5 library did not "
                         f"finish reading it in {PROBE_TIMEOUT_S:.0f} s")
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise TraceError(file, "/", f"damaged HDF5 metadata: the HDF5 library crashed "
                         f"reading it ({name})")
