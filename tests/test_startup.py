"""Start-up path: `--version` answers without importing the simulator."""

import os
import subprocess
import sys

from tlm.app.cli import main, package_version

HEAVY_MODULES = ("numpy", "h5py", "simpy", "rich")


def test_version_prints_installed_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"h2learn {package_version()}"


def test_version_imports_no_heavy_module():
    probe = ("import sys; from tlm.app.cli import main; main(['--version']); "
             f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m_tlm_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "tlm", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"h2learn {package_version()}"


def test_reports_survive_an_ascii_only_output_encoding():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([sys.executable, "-m", "tlm", "run"], env=env, capture_output=True,
                          text=True, encoding="ascii", errors="replace", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "tiny-cnn" in done.stdout
