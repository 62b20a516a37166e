"""The capture examples (issue 12, item 2) train, capture, and give a trace that checks and runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from capture_support import need

ROOT = Path(__file__).resolve().parent.parent
H2LEARN = [sys.executable, "-m", "tlm.app.cli"]


@pytest.mark.parametrize("script, framework", [("snntorch_capture.py", "snntorch"),
                                               ("spikingjelly_capture.py", "spikingjelly")])
def test_example_writes_a_trace_that_checks_and_runs(tmp_path, script, framework):
    need("torch")
    need(framework)
    out = tmp_path / "captured.h5"
    # a short run: the defaults (4 iterations, T=8, B=16) are what the README times
    subprocess.run([sys.executable, str(ROOT / "examples" / script), "-o", str(out),
                    "--iterations", "2", "--batch", "4", "--timesteps", "4"],
                   check=True, capture_output=True, timeout=300)
    check = subprocess.run(H2LEARN + ["trace", "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.startswith("ok:"), check.stderr
    run = subprocess.run(H2LEARN + ["run", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
