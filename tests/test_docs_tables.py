"""benchmarks/docs_tables.py fills the generated blocks of the docs, empty or not, idempotently."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "docs_tables.py"
spec = importlib.util.spec_from_file_location("docs_tables", SCRIPT)
docs_tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(docs_tables)


def test_empty_and_filled_blocks_are_replaced_once():
    text = "a\n<!-- validate:checks -->\n<!-- /validate:checks -->\nb\n"
    once = docs_tables.rewrite(text, {"checks": "| x |"})
    assert once == "a\n<!-- validate:checks -->\n| x |\n<!-- /validate:checks -->\nb\n"
    assert docs_tables.rewrite(once, {"checks": "| x |"}) == once
    assert "| y |" in docs_tables.rewrite(once, {"checks": "| y |"})
    assert "| x |" not in docs_tables.rewrite(once, {"checks": "| y |"})


def test_provenance_block_names_the_commit_and_the_trace_hashes():
    report = {"producer": {"name": "h2learn-tlm", "version": "9.9", "git_commit": "abc123"},
              "workloads": [{"workload": "mnist-cnn", "trace_content_sha256": "f" * 64}]}
    line = docs_tables.provenance(report)
    assert "commit `abc123`" in line and "9.9" in line and "mnist-cnn `" + "f" * 16 + "`" in line
    report["producer"]["git_commit"] = None
    assert "unknown" in docs_tables.provenance(report)
