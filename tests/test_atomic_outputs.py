"""Issue 9 item 5: one atomic writer for every output, and its rules."""

import errno
import os
import stat

import pytest

from tlm.app.cli import main
from traces import atomic
from traces.atomic import AtomicTarget, write_atomic


def test_write_atomic_replaces_a_regular_file_and_keeps_its_mode(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_symlinked_output_replaces_the_file_it_points_at(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_fifo_is_refused_never_renamed_over(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        write_atomic(link, "x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("option", ["--json", "--csv", "--timeline", "--record"])
def test_run_refuses_a_device_or_fifo_output_before_simulating(tiny_trace, tmp_path, capsys, option):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["run", str(tiny_trace), option, str(fifo)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(fifo) in err[0] and "not a regular file" in err[0]
    assert main(["run", str(tiny_trace), option, "/dev/null"]) == 2
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_trace_gen_refuses_a_directory_or_fifo_before_generating(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for out in (str(fifo), str(tmp_path), ""):
        code = main(["trace", "gen", "--workload", "tiny-cnn", "--source", "synthetic", "-o", out])
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in err[0]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_stale_temp_files_of_a_killed_writer_are_cleaned(tmp_path):
    target = tmp_path / "r.json"
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    stale = tmp_path / f".r.json.{dead}.abcd1234.tmp"
    live = tmp_path / f".r.json.{os.getpid()}.beef0000.tmp"
    other = tmp_path / ".unrelated.1.abcd.tmp"
    for p in (stale, live, other):
        p.write_text("half")
    write_atomic(target, "ok")
    assert not stale.exists() and live.exists() and other.exists()


def test_a_full_disk_is_an_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError) as info:
        write_atomic(target, "new")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_run_with_a_full_disk_exits_2_with_one_line(tiny_trace, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))
    out = tmp_path / "r.json"
    assert main(["run", str(tiny_trace), "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"h2learn: error: {out}: cannot write: No space left on device"]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_abandoned_target_leaves_nothing(tmp_path):
    out = AtomicTarget(tmp_path / "x.h5")
    assert out.temp.exists()
    out.abandon()
    assert list(tmp_path.iterdir()) == []


def test_no_other_module_renames_temp_files():
    """Every caller uses traces.atomic: no second copy of the temp-and-rename dance."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    offenders = []
    for folder in ("traces", "tlm", "reports", "memory"):
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for name in files:
                path = os.path.join(dirpath, name)
                if name.endswith(".py") and not path.endswith(os.path.join("traces", "atomic.py")):
                    text = open(path, encoding="utf-8").read()
                    if "os.replace(" in text or "mkstemp(" in text:
                        offenders.append(os.path.relpath(path, root))
    assert offenders == []
