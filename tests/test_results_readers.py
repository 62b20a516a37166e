"""Issue 9 item 8: report/analyze/compare check what they read; compare names other workloads."""

import json

import pytest

from tlm.app.cli import main


@pytest.fixture(scope="module")
def results_file(tiny_trace, tmp_path_factory):
    path = tmp_path_factory.mktemp("res") / "r.json"
    assert main(["run", str(tiny_trace), "--json", str(path)]) == 0
    return path


def _edit(results_file, tmp_path, edit):
    data = json.loads(results_file.read_text())
    edit(data)
    out = tmp_path / "bad.json"
    text = json.dumps(data)
    out.write_text(text.replace('"DEEP"', "[" * 100000 + "1" + "]" * 100000))
    return out


def _deep(data):
    data["layers"] = "DEEP"


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d.__setitem__("total_cycles", "many"), "total_cycles: expected int"),
    (lambda d: d.__setitem__("speedup", 1e308), "speedup: 1e+308 is not a plausible number"),
    (lambda d: d["phases"].__setitem__("fp", [[[[[[[[[1]]]]]]]]]), "nested deeper"),
    (_deep, "nested too deeply"),
])
@pytest.mark.parametrize("command", ["report", "analyze"])
def test_bad_results_are_one_line(results_file, tmp_path, capsys, edit, expected, command):
    bad = _edit(results_file, tmp_path, edit)
    assert main([command, str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err


def test_compare_says_when_workloads_differ(results_file, tmp_path, capsys):
    other = _edit(results_file, tmp_path, lambda d: d["workload"].__setitem__("name", "mnist-cnn"))
    assert main(["compare", str(results_file), str(other)]) == 0
    assert "compare different workloads" in capsys.readouterr().err


def test_wrong_shape_deep_inside_is_one_line_for_report(results_file, tmp_path, capsys):
    bad = _edit(results_file, tmp_path, lambda d: d["energy_pj"].__setitem__("breakdown", 5))
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "malformed results" in err[0], err
