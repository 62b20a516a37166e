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


def _child_exiting_after(delay_s: float) -> int:
    pid = os.fork()
    if pid == 0:
        time.sleep(delay_s)
        os._exit(7)
    return pid


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="no pidfds on this system")
def test_the_wait_wakes_when_the_child_exits_without_polling(monkeypatch):
    def no_sleep(_seconds):
        raise AssertionError("wait_child slept: it should wake on the child's pidfd")
    pid = _child_exiting_after(0.12)  # the old backoff checked at 113.5 ms, then 163.5 ms
    monkeypatch.setattr(probe.time, "sleep", no_sleep)  # after the fork: the child sleeps
    start = time.monotonic()
    status = probe.wait_child(pid, timeout_s=10.0)
    waited_s = time.monotonic() - start
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7
    assert waited_s < 0.12 + 0.035  # on exit, not at the backoff's next check (+43 ms)


def test_a_child_exiting_at_once_is_not_waited_for_long():
    pid = _child_exiting_after(0.0)
    start = time.monotonic()
    assert os.WEXITSTATUS(probe.wait_child(pid, timeout_s=10.0)) == 7
    assert time.monotonic() - start < 1.0  # the timeout is not what ends the wait


@pytest.mark.parametrize("pidfd", [True, False])
def test_a_hanging_child_is_killed_at_the_timeout_and_reaped(monkeypatch, pidfd):
    if not pidfd:  # the fallback for systems without pidfds: a polling loop
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    pid = _child_exiting_after(60.0)
    start = time.monotonic()
    assert probe.wait_child(pid, timeout_s=0.3) is None
    assert 0.3 <= time.monotonic() - start < 5.0
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(pid, os.WNOHANG)


def test_the_fallback_loop_returns_the_exit_status(monkeypatch):
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    assert os.WEXITSTATUS(probe.wait_child(_child_exiting_after(0.01), timeout_s=10.0)) == 7
