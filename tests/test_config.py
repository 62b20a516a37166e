"""Configuration: defaults, TOML files, dotted overrides, one-line errors naming the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tlm.app.cli import main
from tlm.app.commands.config import toml_text
from memory.config import DramConfigError
from tlm.config import ConfigError, SystemConfig, config_from_dict, load_config


def test_file_then_overrides_win_in_order(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('clock_mhz = 800\n[fe]\nlut_k = 6\n[dram]\npreset = "ddr4-3200"\n')
    cfg = load_config(path, ["fe.lut_k=8", "pipeline.mode=serial"])
    assert (cfg.clock_mhz, cfg.fe.lut_k, cfg.dram.preset, cfg.pipeline.mode) == \
        (800.0, 8, "ddr4-3200", "serial")
    assert cfg.be == SystemConfig().be


def test_show_toml_round_trips(tmp_path):
    cfg = config_from_dict({"be.sparsity": "input", "sram.port_bytes_per_cycle": 32})
    path = tmp_path / "round.toml"
    path.write_text(toml_text(cfg))
    assert load_config(path) == cfg


@pytest.mark.parametrize("overrides,message", [
    (["fe.lut_k=0"], "fe.lut_k: 0, expected 1..12"),
    (["fe.lut_k=two"], "fe.lut_k: 'two'"),
    (["be.lanes=-4"], "be.lanes: -4, expected a positive number"),
    (["dram.preset=ddr9"], "dram.preset: 'ddr9', expected one of"),
    (["fe.nonsense=1"], "fe.nonsense: unknown key"),
    (["fe.lut_k"], "expected key=value"),
])
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_config(None, overrides)


@pytest.mark.parametrize("text,message", [
    ("[fe]\nlut_k = 2.5\n", "fe.lut_k: 2.5, expected an integer"),
    ("fe = 3\n", "fe: expected a table"),
    ("[gpu]\npreset = 1\n", "gpu.preset: 1, expected a str"),
    ("[bogus]\nx = 1\n", "bogus: unknown key"),
    ("[fe\n", "not valid TOML"),
])
def test_bad_files_name_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_config(path)


def test_cli_reports_one_line_and_exit_2(capsys):
    assert main(["run", "--set", "be.sparsity=sometimes"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["h2learn: error: be.sparsity: 'sometimes', expected one of dual, input, "
                   "output, dense"]


def test_config_show_lists_every_key_with_units(capsys):
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    for key in ("fe.lut_buffer_kib", "dram.preset", "pipeline.mode", "clock_mhz"):
        assert key in out
    assert "KiB" in out and "MHz" in out


@pytest.mark.parametrize("make, expected", [
    (lambda d: (os.mkfifo(d / "fifo.toml"), d / "fifo.toml")[1], "not a regular file"),
    (lambda d: Path("/dev/zero"), "not a regular file"),
    (lambda d: (d / "bin.toml").write_bytes(b"a = 1\n\xff\xfe\x00") and d / "bin.toml",
     "not UTF-8"),
    (lambda d: (d / "big.toml").write_bytes(b"#" * (2 << 20)) and d / "big.toml", "larger than"),
])
def test_config_file_that_is_not_a_small_text_file_is_one_error(tmp_path, make, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(make(tmp_path))


def test_override_with_empty_key_names_the_problem():
    with pytest.raises(ConfigError, match="key before '=' is empty"):
        load_config(None, ["=5"])


@pytest.mark.parametrize("sets, key", [
    (["dram.xor_bank=true"], "dram.xor_bank"),
    (["dram.address_map=rochrababgco", "dram.model=bandwidth"], "dram.address_map"),
    (["dram.model=controller", "dram.interleave_bytes=512"], "dram.interleave_bytes")])
def test_a_dram_key_the_chosen_model_would_ignore_is_refused(sets, key):
    """A banked run does not read the controller's field map, nor the controller the
    banked model's interleave: set anyway, the user would sweep a key that changes nothing."""
    with pytest.raises(DramConfigError, match=rf"{key}: .* applies to dram.model="):
        load_config(None, sets).effective()
