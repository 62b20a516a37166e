"""Inputs that are not regular files (a FIFO, a device) are one line, never a blocked read."""

import os

import pytest

from tlm.app.cli import main


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "input"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("command", [["report"], ["analyze"], ["replay"], ["trace", "check"], ["run"]])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_non_regular_input_is_one_line(command, kind, fifo, capsys):
    path = fifo if kind == "fifo" else "/dev/zero"
    assert main([*command, path]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a regular file" in err and len(err.splitlines()) == 1


def test_compare_refuses_a_fifo(fifo, capsys):
    assert main(["compare", fifo, fifo]) == 2
    assert "not a regular file" in capsys.readouterr().err
