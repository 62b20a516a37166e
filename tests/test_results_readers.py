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
    assert len(err) == 1 and "energy_pj.breakdown: expected object, found int" in err[0], err


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["layers"][1].__setitem__("phase", "backwArd"), "layers[1].phase: expected one of"),
    (lambda d: d["dram"].__setitem__("peak_gbps", None), "dram.peak_gbps: expected number"),
    (lambda d: d["dram"].pop("channels"), "dram: missing key 'channels'"),
    (lambda d: d["findings"].__setitem__(0, "x"), "findings[0]: expected object"),
])
@pytest.mark.parametrize("command", ["report", "analyze", "compare"])
def test_schema_breaks_are_one_line_before_any_output(results_file, tmp_path, capsys, edit,
                                                      expected, command):
    """Issue 9 item 8: the shipped results schema is checked before anything renders."""
    bad = _edit(results_file, tmp_path, edit)
    argv = [command, str(results_file), str(bad)] if command == "compare" else [command, str(bad)]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and expected in err, (out, err)


def test_an_older_minor_version_may_lack_later_keys(results_file, tmp_path, capsys):
    def old(data):
        data["schema_version"] = "1.0.0"
        del data["findings"], data["memory_stall_by_channel"]
    assert main(["report", str(_edit(results_file, tmp_path, old))]) == 0
    assert "Findings" in capsys.readouterr().out


@pytest.mark.parametrize("command, target", [
    ("report", "tlm.app.commands.report.render_report"),
    ("compare", "tlm.app.commands.report.render_comparison"),
    ("analyze", "tlm.app.commands.analyze.render_analysis"),
])
def test_a_render_that_fails_half_way_prints_nothing_but_the_error(results_file, capsys,
                                                                   monkeypatch, command, target):
    """Issue 9 (partial output): what fails half-way through rendering prints no half report."""
    def half(*args):
        args[-1].print("the first table of the report")
        raise KeyError("cycles")
    monkeypatch.setattr(target, half)
    argv = [command, str(results_file)] * (2 if command == "compare" else 1)
    argv = argv[:1] + [a for a in argv if a != command]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "malformed results" in err
