"""Issue 9 item 7: every config number finite and of a sane magnitude; file errors name the file."""

import pytest

from tlm.config import ConfigError, load_config


@pytest.mark.parametrize("item", [
    "clock_mhz=inf", "clock_mhz=1e-300", "clock_mhz=1e300", "clock_mhz=nan",
    "dram.peak_gbps_per_channel=nan", "dram.peak_gbps_per_channel=inf",
    "dram.peak_gbps_per_channel=1e-300", "be.macs_per_lane_per_cycle=100000000000000000000",
])
def test_absurd_numbers_are_one_line_naming_the_key(item):
    key = item.split("=")[0]
    with pytest.raises(ConfigError, match=f"^{key}: "):
        load_config(None, [item])


def test_an_error_inside_a_config_file_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("clock_mhz = inf\n")
    with pytest.raises(ConfigError, match=f"^{path}: clock_mhz: inf, expected a finite number"):
        load_config(path)


def test_a_binary_config_is_one_line(tmp_path):
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ConfigError, match="not UTF-8") as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (byte 0)"  # the file named once


def test_the_defaults_and_zero_or_minus_one_sentinels_pass():
    load_config(None, ["dram.channels=0", "dram.latency_ns=-1", "dram.peak_gbps_per_channel=0"])
