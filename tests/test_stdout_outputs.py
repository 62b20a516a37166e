"""'-' means stdout for --json/--csv/--timeline (only that output there); --record - is refused."""

import json

import pytest


from tlm.app.cli import main


def test_csv_dash_writes_only_csv_to_stdout(tiny_trace, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(tiny_trace), "--csv", "-"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("index,name,kind,phase,cycles")
    assert not (tmp_path / "-").exists()


def test_timeline_dash_writes_json_to_stdout(tiny_trace, tmp_path, monkeypatch, capsysbinary):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(tiny_trace), "--timeline", "-"]) == 0
    assert json.loads(capsysbinary.readouterr().out)["traceEvents"]
    assert not (tmp_path / "-").exists()


def test_two_stdout_outputs_and_record_dash_are_refused(tiny_trace, capsys):
    assert main(["run", str(tiny_trace), "--json", "-", "--csv", "-"]) == 2
    assert "only one output" in capsys.readouterr().err
    assert main(["run", str(tiny_trace), "--record", "-"]) == 2
    assert "--record -" in capsys.readouterr().err


def test_each_written_file_is_announced_once_on_stderr(tiny_trace, tmp_path, capsys):
    path = tmp_path / "r.json"
    assert main(["run", str(tiny_trace), "--json", str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count(f"wrote {path} (") == 1


def test_recording_is_announced_too(tiny_trace, tmp_path, capsys):
    path = tmp_path / "r.stream.h5"
    assert main(["run", str(tiny_trace), "--record", str(path)]) == 0
    assert capsys.readouterr().err.count(f"wrote {path} (") == 1


def test_output_onto_the_input_trace_is_refused_and_the_trace_survives(tiny_trace, capsys):
    before = tiny_trace.read_bytes()
    assert main(["run", str(tiny_trace), "--json", str(tiny_trace)]) == 2
    assert "is an input of this command" in capsys.readouterr().err
    assert tiny_trace.read_bytes() == before


@pytest.mark.parametrize("args, expected", [
    (["--json", ""], "the path is empty"),
    (["--csv", "{tmp}"], "is a directory"),
    (["--json", "{tmp}/a.json", "--csv", "{tmp}/a.json"], "the same file as --json"),
    (["--json", "{tmp}/no/such/dir/a.json"], "does not exist"),
])
def test_bad_output_paths_are_one_line_before_simulating(tiny_trace, tmp_path, capsys, args, expected):
    args = [a.format(tmp=tmp_path) for a in args]
    assert main(["run", str(tiny_trace), *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
