"""Every number in README.md and docs/*.md comes from a named command (issue 13).

Deterministic numbers sit in generated blocks that ``benchmarks/refresh_docs.py``
rewrites; each ends with a provenance line (command, commit, trace hashes).
Machine-dependent timings sit in ``measured`` blocks naming their command,
commit and load. These tests check the blocks are well formed, that the cheap
ones are what their commands print today, and that the parameter table of
docs/assumptions.md is the configuration's defaults.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    """A module of benchmarks/ (the scripts import their neighbours by name)."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module(name)


docblocks = load("docblocks")
refresh = load("refresh_docs")


def test_empty_and_filled_blocks_are_replaced_once():
    text = "a\n<!-- validate:checks -->\n<!-- /validate:checks -->\nb\n"
    once = docblocks.rewrite(text, {("validate", "checks"): "| x |"})
    assert once == "a\n<!-- validate:checks -->\n| x |\n<!-- /validate:checks -->\nb\n"
    assert docblocks.rewrite(once, {("validate", "checks"): "| x |"}) == once
    twice = docblocks.rewrite(once, {("validate", "checks"): "| y |"})
    assert "| y |" in twice and "| x |" not in twice
    assert docblocks.rewrite(once, {("gpu", "notes"): "z"}) == once   # other blocks untouched


@pytest.mark.parametrize("text, problem", [
    ("see <!-- gpu:notes -->\n<!-- /gpu:notes -->\n", "alone on its line"),
    ("<!-- gpu:notes -->\n<!-- gpu:reference -->\n", "opens inside"),
    ("<!-- gpu:notes -->\n<!-- /gpu:reference -->\n", "closes no open block"),
    ("<!-- gpu:notes -->\ntext\n", "never closed"),
])
def test_malformed_markers_are_one_error_naming_the_line(text, problem):
    with pytest.raises(docblocks.BlockError, match=problem):
        docblocks.find_blocks(text, "doc.md")
    with pytest.raises(docblocks.BlockError):
        docblocks.rewrite(text, {("gpu", "notes"): "x"})


def test_the_provenance_line_names_command_version_commit_and_inputs():
    line = docblocks.provenance_line("report", "`h2learn run`",
                                     {"name": "h2learn-tlm", "version": "9.9",
                                      "git_commit": "abcdef0123456789-dirty"}, "trace `ffff`")
    assert line.startswith(docblocks.PROVENANCE_START) and line.endswith(".*")
    assert "`python benchmarks/refresh_docs.py --only report` from `h2learn run`" in line
    assert "9.9" in line and "trace `ffff`" in line and "commit `abcdef012345-dirty`" in line
    assert "unknown" in docblocks.provenance_line("report", "x", {"git_commit": None})


def test_comparable_masks_only_what_differs_between_two_honest_runs():
    a = "│ Simulated in   0.14 s wall │ commit `abc` · at load 3.14 · 7,597 cycles"
    b = "│ Simulated in  12.47 s wall │ commit `def` · at load 0.50 · 7,597 cycles"
    assert docblocks.comparable(a).replace(" ", "") == docblocks.comparable(b).replace(" ", "")
    assert docblocks.comparable(a) != docblocks.comparable(a.replace("7,597", "7,598"))


def test_every_block_in_the_docs_is_well_formed_known_and_provenanced():
    assert refresh.check_structure() == []
    sources = {b.source for p in docblocks.doc_files() for b in
               docblocks.find_blocks(p.read_text(), str(p))}
    assert set(refresh.SOURCES) <= sources          # every source has somewhere to go
    assert docblocks.MEASURED in sources


def test_the_cheap_blocks_are_what_their_commands_print_now(tmp_path):
    """If this fails after a model change: python benchmarks/refresh_docs.py (or --only NAME)."""
    cheap = [name for name, source in refresh.SOURCES.items() if source.cheap]
    bodies = refresh.generate(cheap, refresh.Context(tmp_path))
    stale = refresh.stale_blocks(bodies)
    hint = "rewrite them: python benchmarks/refresh_docs.py --only NAME\n"
    assert stale == [], hint + "\n".join(stale)


def config_table_rows() -> list[tuple[list[str], str]]:
    text = (ROOT / "docs" / "assumptions.md").read_text()
    section = text[text.index("## 1. Architecture"):text.index("## 2.")]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        keys = re.findall(r"`([a-z_]+(?:\.[a-z_]+)?)`", cells[0]) if len(cells) > 2 else []
        if keys:
            rows.append((keys, cells[1]))
    return rows


def test_the_assumptions_table_lists_every_parameter_at_its_default_value():
    from tlm.config import SystemConfig
    defaults = SystemConfig().flat()
    listed, wrong = set(), []
    for keys, value in config_table_rows():
        listed |= set(keys)
        if "'s" in value:            # "the preset's: ...": resolved elsewhere
            continue
        values = [v.strip() for v in value.split(",")]
        for key, shown in zip(keys, values * len(keys) if len(values) == 1 else values):
            want = defaults[key]
            same = (str(want).lower() == shown.lower() if isinstance(want, (bool, str))
                    else float(shown) == float(want))
            if not same:
                wrong.append(f"{key}: docs say {shown}, the default is {want}")
    assert wrong == []
    assert sorted(set(defaults) - listed) == []
