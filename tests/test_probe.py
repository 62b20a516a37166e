"""Issue 9: a file whose metadata crashes or hangs libhdf5 is one TraceError, not a dead process."""

import os
import signal
import time

import pytest

from traces import probe
from traces.errors import TraceError


def test_a_crash_while_opening_is_one_trace_error(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"")
    with pytest.raises(TraceError, match="crashed reading it \\(SIGSEGV\\)"):
        probe.probe_metadata(path, lambda: os.kill(os.getpid(), signal.SIGSEGV))


def test_a_hang_while_opening_is_one_trace_error(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "PROBE_TIMEOUT_S", 0.5)
    path = tmp_path / "x.h5"
    path.write_bytes(b"")
    with pytest.raises(TraceError, match="did not finish reading it"):
        probe.probe_metadata(path, lambda: time.sleep(60))


def test_python_errors_in_the_child_are_left_to_the_caller(tmp_path):
    path = tmp_path / "missing.h5"
    probe.probe_metadata(path, lambda: 1 / 0)  # returns: the caller's own checks report
