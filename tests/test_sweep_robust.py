"""Issue 9 item 9: sweep --out checks, no orphan workers after kill -9, journal records checked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tlm.app.cli import main
from tlm.app.sweep import SweepJournal, SweepSpec, add_dimension, parse_grid_option, run_sweep

from test_sweep import fake_runner


def test_out_onto_a_file_is_one_line(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["sweep", "--grid", "fe.lut_k=2,4", "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a folder" in err[0]
    assert target.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder_is_one_line(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    assert main(["sweep", "--grid", "fe.lut_k=2,4", "--out", str(folder / "o")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_ok_records_without_results_are_run_again(tmp_path):
    spec = SweepSpec(traces=[None])
    add_dimension(spec.grid, *parse_grid_option("fe.lut_k=1,2,3"))
    calls: list[str] = []
    run_sweep(spec, tmp_path, runner=fake_runner(calls))
    journal = tmp_path / "points.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    records[0]["results"] = None
    journal.write_bytes(("\n".join(json.dumps(r) for r in records) + "\n").encode()
                        + b"\xff\xfe binary junk\n")
    assert len(SweepJournal(tmp_path).load()) == 2
    calls.clear()
    outcome = run_sweep(spec, tmp_path, runner=fake_runner(calls))
    assert len(calls) == 1 and outcome.resumed == 2


SLOW_SWEEP = """
import slowmod
from tlm.app import sweep
if __name__ == "__main__":
    spec = sweep.SweepSpec(traces=[None])
    sweep.add_dimension(spec.grid, *sweep.parse_grid_option("fe.lut_k=1,2,3,4"))
    list(sweep.run_local(sweep.expand(spec), jobs=2, runner=slowmod.slow))
"""


def _children_of(pids: set[int]) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid in pids:
                found.add(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_a_two_job_sweep_leaves_no_worker(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(SLOW_SWEEP)
    (tmp_path / "slowmod.py").write_text("import time\ndef slow(point):\n    time.sleep(60)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    deadline = time.monotonic() + 60
    family: set[int] = set()
    while time.monotonic() < deadline:  # the sweep, its fork server and two workers
        family = {proc.pid}
        for _ in range(3):
            family |= _children_of(family)
        if len(family) >= 4:
            break
        time.sleep(0.2)
    assert len(family) >= 4, family
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    alive = family
    while time.monotonic() < deadline:
        alive = {pid for pid in family - {proc.pid} if Path(f"/proc/{pid}").exists()
                 and "Z" not in (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:1])}
        if not alive:
            break
        time.sleep(0.2)
    assert not alive, f"workers left behind: {alive}"
