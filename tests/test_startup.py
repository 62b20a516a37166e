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


def test_help_imports_no_heavy_module():
    probe = ("import sys, contextlib, io\nfrom tlm.app.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
             "    main(['--help'])\n"
             f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_command_table_matches_the_command_modules():
    """The help lines listed without importing a command are the modules' own."""
    from tlm.app.cli import COMMANDS, build_parser
    full, lazy = build_parser(), build_parser(lazy=True)
    assert full.format_help() == lazy.format_help()
    commands = next(a for a in full._actions if getattr(a, "choices", None))
    assert list(commands.choices) == list(COMMANDS)
    for name in COMMANDS:  # each command, built lazily, is the full parser's
        one = build_parser(name, lazy=True)
        assert one.format_help() == full.format_help()
