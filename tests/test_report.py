"""The terminal report, findings, ``h2learn report`` and ``h2learn compare``.

The golden report lives in tests/golden/report_sample.txt: the embedded
sample trace on the default config, rendered at 80 columns without colour and
with the wall-clock time masked. When a model change moves the numbers on
purpose, refresh it deliberately and review the diff:

    H2LEARN_REFRESH_GOLDEN=1 .venv/bin/pytest tests/test_report.py -k golden
"""

from __future__ import annotations

import copy
import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from reports.compare import compare_metrics, ranked_changes, render_comparison
from reports.export import results_json
from reports.findings import derive_findings, report_view
from reports.render import (DRAM_FIGURES, GPU_FIGURES, SUMMARY_FIGURES, fmt_int, fmt_pct, lookup,
                            render_report)
from reports.results import Results
from tlm.app.api import simulate
from tlm.app.cli import main

GOLDEN = Path(__file__).parent / "golden" / "report_sample.txt"


@pytest.fixture(scope="module")
def results() -> Results:
    """The embedded sample trace (fixed) on the default config, wall clock masked."""
    found = simulate()
    found.simulator["wall_seconds"] = 0.0
    return found


def render_text(results: Results) -> str:
    out = io.StringIO()
    render_report(results, Console(file=out, width=80, color_system=None))
    return out.getvalue()


@pytest.fixture(scope="module")
def text(results: Results) -> str:
    return render_text(results)


def saved(results: Results, path: Path) -> Path:
    path.write_text(results_json(results))
    return path


def test_energy_and_area_breakdowns_sum_to_totals(results: Results) -> None:
    assert sum(results.energy_pj["breakdown"].values()) == pytest.approx(results.energy_pj["total"])
    assert sum(results.area_mm2["breakdown"].values()) == pytest.approx(results.area_mm2["total"])
    view = report_view(results)
    assert sum(s.share for s in view.energy) == pytest.approx(1.0)
    assert [s.value for s in view.energy] == sorted((s.value for s in view.energy), reverse=True)


def test_engine_state_shares_add_up(results: Results) -> None:
    for shares in report_view(results).engine_shares.values():
        assert sum(shares.values()) == pytest.approx(1.0)


def test_every_figure_shown_is_the_json_number(results: Results, text: str) -> None:
    data = json.loads(results_json(results))
    for label, path, fmt in SUMMARY_FIGURES + GPU_FIGURES + DRAM_FIGURES:
        assert fmt(lookup(data, path)) in text, (label, path)


def test_table_rows_show_the_json_numbers(results: Results, text: str) -> None:
    data = json.loads(results_json(results))
    lines = text.splitlines()
    for name, states in data["engines"].items():
        row = next(line for line in lines if line.strip().startswith(f"{name} "))
        busy = fmt_pct(states["busy"] / sum(states.values()))
        assert busy in row and fmt_pct(states["idle"] / sum(states.values())) in row
    for row in data["layers"]:
        assert any(row["name"] in line and fmt_int(row["cycles"]) in line for line in lines)
    for phase, cycles in data["phases"].items():
        assert fmt_int(cycles) in text


def test_report_changes_when_the_results_do(results: Results, text: str) -> None:
    changed = copy.deepcopy(results)
    changed.total_cycles += 12_345
    assert render_text(changed) != text


def test_report_is_plain_and_fits_80_columns(text: str) -> None:
    assert "\x1b[" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for section in ("Engines", "Phases", "Layers", "DRAM", "Energy by component",
                    "Area by component", "Findings"):
        assert section in text
    assert any(ch in text for ch in "▁▂▃▄▅▆▇█")


def test_golden_report(text: str) -> None:
    if os.environ.get("H2LEARN_REFRESH_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert GOLDEN.exists(), f"no golden file; create it with H2LEARN_REFRESH_GOLDEN=1 ({GOLDEN})"
    assert text == GOLDEN.read_text(), "report changed; if intended, refresh (see module doc)"


def with_engine(results: Results, name: str, **states: int) -> Results:
    changed = copy.deepcopy(results)
    total = sum(changed.engines[name].values())
    changed.engines[name] = {"busy": 0, "stall_memory": 0, "stall_backpressure": 0,
                             "starved": 0, "idle": 0, **states}
    changed.engines[name]["idle"] += total - sum(changed.engines[name].values())
    return changed


def test_findings_name_memory_stalls_and_starvation(results: Results) -> None:
    total = sum(results.engines["be"].values())
    changed = with_engine(results, "be", busy=total // 2, stall_memory=total * 41 // 100)
    texts = [f["text"] for f in derive_findings(changed)]
    assert any(t.startswith("Backward Engine stalled 41% of its time on DRAM") for t in texts)
    starved = with_engine(results, "wue", starved=total * 6 // 10)
    assert any("Weight Update Engine starved 60%" in f["text"] and "du from the BE" in f["text"]
               for f in derive_findings(starved))


def test_findings_warn_about_refetch_and_bandwidth(results: Results) -> None:
    changed = copy.deepcopy(results)
    changed.buffers["be.input"]["refetch_bytes"] = 2_000_000
    changed.dram["utilization"] = 0.9
    found = derive_findings(changed)
    kinds = [f["kind"] for f in found]
    assert "refetch" in kinds and "bandwidth_bound" in kinds
    assert found[0]["severity"] == "warning"
    assert "be.input" in next(f["text"] for f in found if f["kind"] == "refetch")
    assert changed.findings != found  # stored findings are only refreshed by build_results


def test_results_store_their_findings(results: Results, text: str) -> None:
    assert results.findings and results.findings == derive_findings(results)
    flowed = " ".join(text.split())  # long findings wrap at 80 columns
    for item in results.findings:
        assert " ".join(item["text"].split()) in flowed


def test_report_command_renders_a_saved_file(results: Results, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(saved(results, tmp_path / "r.json"))]) == 0
    out = capsys.readouterr().out
    assert fmt_int(results.total_cycles) in out and "Findings" in out


@pytest.mark.parametrize("content, fragment", [
    (None, "cannot read"), ("{not json", "not a JSON results file"),
    ("[1, 2]", "expected a JSON object"), ('{"total_cycles": 3}', "no schema_version"),
    ('{"schema_version": "2.0.0"}', "schema_version 2.0.0"),
    ('{"schema_version": "1.0.0"}', "missing field(s)")])
def test_report_command_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      content: str | None, fragment: str) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("h2learn: error: ") and err.count("\n") == 1 and fragment in err
    assert "Traceback" not in out + err


def test_compare_ranks_the_largest_change_first(results: Results) -> None:
    other = copy.deepcopy(results)
    other.energy_pj["total"] *= 3
    other.engines["be"]["stall_memory"] += 10
    ranked = ranked_changes(compare_metrics([results, other]))
    assert ranked[0].label == "energy" and ranked[0].changes[1] == pytest.approx(2.0)
    assert any(m.label == "be stall_memory cycles" for m in ranked)
    assert not ranked_changes(compare_metrics([results, copy.deepcopy(results)]))


def test_compare_command(results: Results, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    other = copy.deepcopy(results)
    other.total_cycles *= 2
    a = saved(results, tmp_path / "a.json")
    b = saved(other, tmp_path / "b.json")
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "+100.0%" in out and fmt_int(other.total_cycles) in out
    assert main(["compare", str(a)]) == 2
    assert main(["compare", str(a), str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "missing.json" in err


def test_compare_renders_without_differences(results: Results) -> None:
    out = io.StringIO()
    render_comparison([results, results], ["a.json", "b.json"],
                      Console(file=out, width=80, color_system=None))
    assert "No differences." in out.getvalue()
