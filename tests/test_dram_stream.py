"""Trace-driven DRAM mode: stream files, the issue discipline, the controller's timing
rules against hand-computed cases, and ``h2learn dram`` end to end."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from memory.field_map import FieldMap
from memory.stream import run_stream
from memory.stream_file import StreamFileError, parse_stream
from memory.stream_stats import summarize
from memory.timing import DDR4_3200, HBM2, LPDDR4_2400
from tlm.app.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from dram_streams import stream  # noqa: E402

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / "data"
                        / "dram_reference.json").read_text())["configs"]


def field_map(t, channels: int = 1, order: str = "", xor: bool = False) -> FieldMap:
    return FieldMap(order or t.address_map, channels, t.ranks, t.bank_groups, t.banks_per_group,
                    t.row_bytes // t.burst_bytes, t.burst_bytes, xor)


def run(t, addresses, writes=None, channels: int = 1, **kw):
    addresses = np.asarray(addresses, dtype=np.int64)
    writes = np.zeros(len(addresses), bool) if writes is None else np.asarray(writes)
    return run_stream(t, field_map(t, channels), addresses, writes, **kw)


# -- stream files -------------------------------------------------------------------

def test_stream_file_formats():
    req = parse_stream(["0x1F40 R", "1f80 WRITE", "# comment", "", "0x0 read  # tail"])
    assert req.addresses.tolist() == [0x1F40, 0x1F80, 0] and req.is_write.tolist() == [0, 1, 0]
    assert req.issue is None
    timed = parse_stream(["0x0 READ 0", "0x40 WRITE 12"])
    assert timed.issue.tolist() == [0, 12]


@pytest.mark.parametrize("lines, message", [
    (["0x0 R", "0xzz W"], "s:2: address '0xzz' is not hexadecimal"),
    (["0x0 X"], "s:1: 'X', expected R, W, READ or WRITE"),
    (["0x0"], "s:1: expected 'ADDRESS R|W [CLOCK]', got 1 fields"),
    (["0x0 R 5", "0x40 R 3"], "s:2: issue clock 3 is before"),
    (["0x0 R 5", "0x40 R"], "s:2: either every request has an issue clock or none"),
    (["0x0 R -1"], "s:1: issue clock '-1'"),
    (["# nothing"], "s: no requests"),
])
def test_stream_file_errors_name_the_line(lines, message):
    with pytest.raises(StreamFileError, match=message.replace("[", r"\[").replace("|", r"\|")):
        parse_stream(lines, "s")


# -- unloaded latency: DRAMsim3's open row / closed bank / row conflict --------------

@pytest.mark.parametrize("part, config", [(DDR4_3200, "DDR4_8Gb_x8_3200_1ch"),
                                          (HBM2, "HBM2_8Gb_x128_1ch"),
                                          (LPDDR4_2400, "LPDDR4_8Gb_x16_2400_1ch")])
def test_unloaded_latency_matches_dramsim3(part, config):
    """Idle, read A (closed bank); idle, A + one burst (open row); idle, same bank other row."""
    amap = field_map(part)
    row_stride = part.burst_bytes * np.prod([c for _, c in amap.radices()])
    addresses = [0, part.burst_bytes, row_stride]
    res = run(part, addresses, issue=np.array([200, 400, 600]), request_bytes=part.burst_bytes)
    want = REFERENCE[config]["unloaded_read_latency"]
    got = (res.done - res.accept).tolist()
    assert got == [want["closed_bank"]["cycles"], want["open_row"]["cycles"],
                   want["row_conflict"]["cycles"]]


# -- the issue discipline and the timing rules, by hand --------------------------------

def test_queue_discipline_hand_computed():
    """HBM2, read queue 2, bank queue 1, five reads to one bank in five rows, all due at 0.

    r0, r1 accepted at 0; r2 refused (queue full) and nothing behind it passes. Clock 1:
    r0 moves to the bank, ACT at 1, RD at 1 + tRCD = 15, data ends 15 + CL + BL/2 = 31;
    r2 accepted. r1 moves at 15: PRE waits tRAS after the ACT (35), ACT 35 + tRP = 49,
    RD 63, done 79; r3 accepted at 15. From there one row cycle (tRC = 48) per read.
    """
    t = replace(HBM2, read_queue=2, bank_queue=1)
    res = run(t, np.arange(5) * 32768)
    assert res.accept.tolist() == [0, 0, 1, 15, 63]
    assert res.done.tolist() == [31, 79, 127, 175, 223]
    assert int(res.acts.sum()) == 5 and int(res.hits.sum()) == 0


def test_at_most_eight_requests_per_clock():
    res = run(HBM2, np.arange(64) * 64)
    assert np.bincount(res.accept).max() == 8 and res.accept.tolist()[8] == 1


def test_writes_are_posted_and_drained():
    """Writes complete one clock after acceptance; the buffer drains once it holds > 8
    with no read waiting, so all 12 writes reach the banks."""
    res = run(HBM2, np.arange(12) * 64, np.ones(12, bool))
    assert (res.done - res.accept).tolist() == [1] * 12
    assert int(res.writes.sum()) == 12 and int(res.hits.sum()) == 11


def test_tccd_long_within_a_bank_group_halves_ddr4_streaming():
    """Sequential reads in one 8 KiB row (one bank group) go at tCCD_L = 8 clocks, twice the
    4-clock burst; spread over bank groups (2 KiB stride) they go at the burst rate."""
    same = run(DDR4_3200, np.arange(96) * 64)
    spread = run(DDR4_3200, (np.arange(96) % 4) * 8192 + (np.arange(96) // 4) * 64)
    for res, gap in ((same, DDR4_3200.ccd_l), (spread, DDR4_3200.burst_clocks)):
        done = np.sort(res.done)
        assert (done[90] - done[40]) / 50 == pytest.approx(gap, rel=0.05)


def test_tfaw_caps_activations_per_rank():
    """Every read opens a row in another bank of one rank: at most 4 ACTs per tFAW."""
    t = HBM2
    addresses = (np.arange(400) % 16) * 2048 + (np.arange(400) // 16) * 32768
    res = run(t, addresses)
    per_act = res.cycles / int(res.acts.sum())
    assert per_act == pytest.approx(t.faw / 4, rel=0.1)


def test_refresh_blocks_and_is_counted():
    res = run(HBM2, np.arange(20000) * 64)
    assert res.refreshes.sum() == res.cycles // HBM2.refi
    # a refresh closes the rows: more activations than 2 KiB rows opened
    assert int(res.acts.sum()) > 20000 * 64 // 2048


def test_turnaround_makes_alternating_reads_and_writes_slower():
    a = np.repeat(np.arange(2000) * 64, 1)
    reads = run(HBM2, a)
    mixed = run(HBM2, a, np.arange(2000) % 2 == 1)
    assert mixed.cycles > reads.cycles


def test_per_bank_rows_sum_to_the_totals():
    a, w = stream("C2", 64)
    res = run_stream(HBM2, field_map(HBM2, 8), a[:3000], w[:3000])
    s = summarize(res, "hbm2", HBM2.address_map)
    for key in ("reads", "writes", "row_hits", "activations"):
        assert sum(b[key] for b in s["per_bank"]) == sum(c[key] for c in s["per_channel"])
    assert sum(b["reads"] for b in s["per_bank"]) == s["reads"]
    assert sum(b["activations"] for b in s["per_bank"]) == s["activations"]
    assert s["bytes"] == sum(c["bytes"] for c in s["per_channel"])


def test_xor_bank_spreads_a_bank_conflicting_stride():
    a = np.arange(3000) * 65536          # one bank of one channel without hashing
    plain = run_stream(HBM2, field_map(HBM2, 1), a, np.zeros(len(a), bool))
    hashed = run_stream(HBM2, field_map(HBM2, 1, xor=True), a, np.zeros(len(a), bool))
    assert hashed.cycles < plain.cycles / 4


def test_deterministic():
    a, w = stream("C6", 64)
    one = run_stream(DDR4_3200, field_map(DDR4_3200), a[:4000], w[:4000])
    two = run_stream(DDR4_3200, field_map(DDR4_3200), a[:4000], w[:4000])
    assert one.done.tolist() == two.done.tolist()


# -- the command ------------------------------------------------------------------------

def test_dram_command_json(tmp_path, capsys):
    trace = tmp_path / "s.trace"
    trace.write_text("".join(f"{i * 64:#x} {'W' if i % 3 == 0 else 'R'}\n" for i in range(500)))
    out = tmp_path / "out.json"
    assert main(["dram", str(trace), "--preset", "ddr4-3200", "--json", str(out)]) == 0
    s = json.loads(out.read_text())
    for key in ("requests", "bytes", "seconds", "gbps", "fraction_of_peak",
                "mean_read_latency_ns", "read_latency_percentiles_ns", "row_hit_rate",
                "activations", "per_channel", "per_bank"):
        assert key in s
    assert s["requests"] == 500 and s["bytes"] == 500 * 64 and len(s["per_channel"]) == 4
    assert "GB/s" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--preset", "lpddr4-3200"], "no command-level timing"),
    (["--set", "dram.address_map=rochrababgxx"], "dram.address_map"),
    (["--request-bytes", "256"], "--request-bytes 256"),
    (["--set", "dram.preset=ddr9"], "dram.preset"),
])
def test_dram_command_refuses_bad_settings(tmp_path, capsys, args, message):
    trace = tmp_path / "s.trace"
    trace.write_text("0x0 R\n")
    assert main(["dram", str(trace), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_dram_command_bad_line(tmp_path, capsys):
    trace = tmp_path / "s.trace"
    trace.write_text("0x0 R\n0x40 Q\n")
    assert main(["dram", str(trace)]) == 2
    assert f"{trace}:2:" in capsys.readouterr().err
    assert main(["dram", str(tmp_path / "missing.trace")]) == 2


# -- calibration: prefixes of the DRAMsim3 streams (the full set: benchmarks/dram_calibration.py)

CALIBRATION_POINTS = [("DDR4_8Gb_x8_3200_1ch", DDR4_3200, 1, "C1"),
                      ("DDR4_8Gb_x8_3200_1ch", DDR4_3200, 1, "C4"),
                      ("DDR4_8Gb_x8_3200_1ch", DDR4_3200, 1, "C2"),
                      ("HBM2_8Gb_x128_1ch", HBM2, 1, "C5"),
                      ("HBM2_8Gb_x128_8ch", HBM2, 8, "C3"),
                      ("HBM2_8Gb_x128_8ch", HBM2, 8, "C4"),
                      ("LPDDR4_8Gb_x16_2400_1ch", LPDDR4_2400, 1, "C8")]


@pytest.mark.parametrize("config, part, channels, name", CALIBRATION_POINTS,
                         ids=[f"{c}-{n}" for c, _, _, n in CALIBRATION_POINTS])
def test_calibration_prefix_within_goal(config, part, channels, name):
    ref = REFERENCE[config]
    a, w = stream(name, ref["request_bytes"])
    res = run_stream(part, field_map(part, channels), a[:8000], w[:8000],
                     request_bytes=ref["request_bytes"])
    s = summarize(res, config, part.address_map)
    want = ref["streams"][name]
    bound = 0.25 if name in ("C2", "C6", "C8") else 0.10
    assert s["gbps"] == pytest.approx(want["gbps"], rel=bound)
    assert s["row_hit_rate"] == pytest.approx(want["row_hit_rate"], abs=0.02)


@pytest.mark.parametrize("preset, channels, peak", [("hbm2e", 8, 409.6), ("hbm3", 16, 819.2)])
def test_newer_hbm_generations_run(tmp_path, capsys, preset, channels, peak):
    """HBM2E / HBM3: HBM2's core timing in ns at the faster interface clocks."""
    trace = tmp_path / "s.trace"
    trace.write_text("".join(f"{i * 64:#x} R\n" for i in range(4000)))
    assert main(["dram", str(trace), "--preset", preset, "--json", "-"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["channels"] == channels and s["peak_gbps"] == pytest.approx(peak)
    assert 0.5 < s["fraction_of_peak"] <= 1.0
