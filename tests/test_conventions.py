"""Conventions users expect: help everywhere, shell completion, 80 columns, allowed values."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tlm.app.cli import build_parser, main


def parsers(parser: argparse.ArgumentParser, path: str = "h2learn"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"{path} {name}: no one-line help in the command list"
                yield from parsers(sub, f"{path} {name}")


def test_every_command_has_a_description_and_every_option_help():
    missing = []
    for path, parser in parsers(build_parser()):
        if not parser.description:
            missing.append(f"{path}: no description")
        missing += [f"{path} {a.option_strings or a.dest}: no help" for a in parser._actions
                    if not a.help and not isinstance(a, argparse._SubParsersAction)]
    assert missing == []


def test_help_fits_80_columns(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "80")
    for path, _ in parsers(build_parser()):
        with pytest.raises(SystemExit):
            main([*path.split()[1:], "--help"])
        wide = [line for line in capsys.readouterr().out.splitlines() if len(line) > 80]
        assert wide == [], f"{path} --help"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, tiny_trace: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("conventions")
    files = {"trace": tiny_trace, "a": folder / "a.json", "b": folder / "b.json", "dir": folder,
             "stream": folder / "tiny.stream.h5", "requests": folder / "requests.trace"}
    assert main(["run", str(tiny_trace), "--json", str(files["a"]),
                 "--record", str(files["stream"])]) == 0
    assert main(["run", str(tiny_trace), "--json", str(files["b"]),
                 "--set", "dram.preset=ddr4-3200"]) == 0
    files["requests"].write_text("".join(f"{i * 0x40:#x} {'RW'[i % 3 == 0]}\n"
                                         for i in range(64)))
    return files


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# a reduced validate (one workload, batch 2, T 2) with every table it can print
VALIDATE = ["validate", "--workloads", "mnist-cnn", "--batch", "2", "--timesteps", "2",
            "--train-iterations", "1", "--sensitivity", "--cache", "{dir}/cache"]


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("argv", [
    ["run", "{trace}"], ["report", "{a}"], ["compare", "{a}", "{b}"], ["analyze", "{a}"],
    ["trace", "info", "{trace}"], ["trace", "check", "{trace}"], ["config", "show"],
    ["sweep", "{trace}", "--grid", "fe.lut_k=2,4", "--out", "{dir}/sweep"],
    ["replay", "{stream}", "--set", "dram.preset=ddr4-3200"], ["dram", "{requests}"],
    VALIDATE,
], ids=lambda argv: " ".join(argv[:2]) if argv[0] == "trace" else argv[0])
def test_every_command_fits_80_columns(argv, terminal, outputs, capsys, monkeypatch):
    """Piped (plain text) and on a terminal (FORCE_COLOR: rich's terminal rendering, escape
    codes stripped): no line over 80 columns, nothing cut with an ellipsis."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    if terminal:
        monkeypatch.setenv("FORCE_COLOR", "1")
    else:
        monkeypatch.delenv("FORCE_COLOR", raising=False)
    capsys.readouterr()
    assert main([a.format(**outputs) for a in argv]) in (0, 1)  # validate: 1 = a check failed
    raw = capsys.readouterr().out
    out = ANSI.sub("", raw)
    if argv[0] == "run":
        assert ("\x1b[" in raw) == terminal, "FORCE_COLOR gives rich's terminal rendering"
    wide = [line for line in out.splitlines() if len(line) > 80]
    assert out and wide == [], wide[:3]
    if argv[0] != "config":
        assert "…" not in out, "a number or name was cut: " + next(
            line for line in out.splitlines() if "…" in line)


def test_config_show_lists_allowed_values(capsys: pytest.CaptureFixture):
    assert main(["config", "show"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for allowed in ("hbm2 | ddr4-3200 | lpddr4-2400 | hbm2e | hbm3 | lpddr4-3200", "serial | overlap", "1..12",
                    "true | false"):
        assert allowed in text


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("words, expected", [
    (["h2learn", "tr"], {"trace"}),
    (["h2learn", "trace", ""], {"gen", "info", "check"}),
    (["h2learn", "run", "--set", "fe.lut_k"], {"fe.lut_k="}),
    (["h2learn", "sweep", "--metric", "spee"], {"speedup"}),
    (["h2learn", "trace", "gen", "--source", ""], {"synthetic", "trainer", "recipe"}),
    (["h2learn", "completion", ""], {"bash", "zsh"}),
])
def test_bash_completion_offers_commands_options_and_choices(tmp_path, capsys, words, expected):
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "h2learn.bash"
    script.write_text(capsys.readouterr().out)
    quoted = " ".join(f"'{w}'" for w in words)
    probe = (f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
             "_h2learn; printf '%s\\n' \"${COMPREPLY[@]}\"")
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "PATH": os.environ.get("PATH", "")})
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == expected


def test_zsh_completion_runs_the_bash_function_through_bashcompinit(capsys):
    assert main(["completion", "zsh"]) == 0
    script = capsys.readouterr().out
    assert "bashcompinit" in script and "complete -o filenames -F _h2learn h2learn" in script


def test_plot_without_matplotlib_names_the_extra(tmp_path, capsys, monkeypatch, tiny_trace):
    import sys
    results = tmp_path / "r.json"
    assert main(["run", str(tiny_trace), "--json", str(results)]) == 0
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    assert main(["plot", str(results), "-o", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install '.[plot]'" in err[0]


@pytest.mark.parametrize("workload, sets", [
    ("tiny-mlp", []), ("tiny-cnn", ["fe.mode=accumulate"]), ("tiny-cnn", ["wue.mode=accumulate"]),
    ("tiny-cnn", ["be.sparsity=dense", "fe.skip_zero_patterns=false"]),
])
def test_per_layer_csv_columns_are_the_same_for_every_network_and_config(
        workload, sets, trace_factory):
    from reports.export import LAYER_OPS, layers_csv
    from tlm.app.api import simulate
    trace = trace_factory(workload, workload=workload, batch=2, timesteps=2)
    from tlm.config import load_config
    header = layers_csv(simulate(trace, load_config(None, sets)))
    expected = ["index", "name", "kind", "phase", "cycles", "busy_cycles", "bytes_read",
                "bytes_written", "refetch_bytes", *(f"ops_{op}" for op in LAYER_OPS),
                *(f"skipped_{op}" for op in LAYER_OPS)]
    assert header.splitlines()[0].split(",") == expected


def test_trace_gen_refuses_stdout_and_says_what_it_wrote(tmp_path, capsys):
    assert main(["trace", "gen", "--workload", "tiny-mlp", "--batch", "2", "--timesteps", "2",
                 "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert "-o -" in err and "stdout" in err and not Path("-").exists()
    out = tmp_path / "t.h5"
    assert main(["trace", "gen", "--workload", "tiny-mlp", "--batch", "2", "--timesteps", "2",
                 "-o", str(out)]) == 0
    assert f"wrote {out} (" in capsys.readouterr().err


def test_dram_json_is_checked_before_the_work_and_announced(outputs, tmp_path, capsys):
    missing = tmp_path / "no-such-folder" / "d.json"
    assert main(["dram", str(outputs["requests"]), "--json", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err and "does not exist" in err
    target = tmp_path / "d.json"
    assert main(["dram", str(outputs["requests"]), "--json", str(target)]) == 0
    assert f"wrote {target} (" in capsys.readouterr().err


def test_a_closed_pipe_is_a_quiet_exit_not_a_traceback(tiny_trace):
    """`h2learn trace check T | head -0`: the reader has left before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as usual
    try:
        run = subprocess.run([sys.executable, "-m", "tlm", "trace", "check", str(tiny_trace)],
                             stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    finally:
        os.close(write_end)
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
    assert run.returncode != 0
