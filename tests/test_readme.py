"""The README's commands run, in order, in an empty folder, as a new user would type them.

Every ```bash block is read; each command that is cheap (seconds) and whose
inputs an earlier command made is run with bash in one temporary folder and
must exit 0. Skipped: installs and CI (the README's set-up commands, which
.ci/run runs), training and recipe traces and `validate` (minutes: their own
tests cover them), Dask clusters, files written outside the folder, tools
that are not installed, and commands whose input an earlier skipped command
would have made.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPENSIVE = ("python3 -m venv", "pip install", "bash .ci", "--source trainer", "--source recipe",
             "h2learn validate", "python -m tlm.app.design_point", "--scheduler", "dask ",
             "python benchmarks/", "python -m pytest")
OUTPUT_FLAGS = {"-o", "--output", "--json", "--csv", "--timeline", "--record", "--out", ">"}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.split(r"\s#\s|^#", line)[0].strip()
            if command:
                commands.append(command)
    return commands


def inputs_missing(command: str, folder: Path) -> bool:
    """A file argument that no earlier command made (and that is not an output)."""
    words = shlex.split(command.replace("|", " | ").replace("&&", " && "))
    for before, word in zip([""] + words, words):
        if before in OUTPUT_FLAGS or word.startswith("-") or before in ("--grid", "--set"):
            continue
        looks_like_path = "/" in word or re.search(r"\.(h5|json|toml|gz)$", word)
        if looks_like_path and not (folder / word).exists():
            return True
    return False


def skip_reason(command: str, folder: Path) -> str | None:
    if any(marker in command for marker in EXPENSIVE):
        return "expensive or an install"
    if "~" in command:
        return "writes outside the folder"
    tools = {part.split()[0] for part in re.split(r"\||&&", command) if part.strip()}
    if any(shutil.which(tool) is None and tool != "h2learn" for tool in tools):
        return "a tool that is not installed"
    if inputs_missing(command, folder):
        return "its input comes from a skipped command"
    return None


def test_the_readme_commands_run_in_order(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "80"}
    ran, failures = [], []
    for command in readme_commands():
        if skip_reason(command, tmp_path):
            continue
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        ran.append(command)
        if done.returncode != 0:
            failures.append(f"{command}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    assert failures == []
    assert len(ran) >= 15, ran    # the README's cheap path really ran
    assert "h2learn run" in ran and any(c.startswith("h2learn plot") for c in ran)


def test_the_readme_test_command_installs_what_the_readme_commands_need() -> None:
    """On a fresh machine the README's test command is all there is: the test above then
    runs the README's `h2learn plot` lines, which need the plot extra (matplotlib)."""
    command = next(c for c in readme_commands() if "python -m pytest tests" in c)
    extras = re.search(r'pip install "\.\[([^\]]*)\]"', command)
    assert extras, command
    assert {"test", "plot"} <= set(extras.group(1).split(",")), command
