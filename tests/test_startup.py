"""Start-up path: `--version` answers without importing the simulator."""

import subprocess
import sys

from tlm.cli import main, package_version

HEAVY_MODULES = ("numpy", "h5py", "simpy", "rich")


def test_version_prints_installed_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"h2learn {package_version()}"


def test_version_imports_no_heavy_module():
    probe = ("import sys; from tlm.cli import main; main(['--version']); "
             f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m_tlm_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "tlm", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"h2learn {package_version()}"
