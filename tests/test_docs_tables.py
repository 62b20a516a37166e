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
