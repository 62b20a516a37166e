"""The results JSON Schema ships with the package, and results files match it.

(Every results dict a test produces is also checked by conftest's autouse
fixture; these tests check the checker and the provenance fields.)
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from reports.results import SCHEMA_VERSION
from reports.schema_check import SchemaError, _check, results_errors, results_schema
from tlm.app.cli import main
from traces.identity import file_sha256

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results_file(tmp_path_factory: pytest.TempPathFactory, tiny_trace: Path) -> dict:
    out = tmp_path_factory.mktemp("schema") / "r.json"
    assert main(["run", str(tiny_trace), "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_a_written_results_file_matches_the_schema(results_file: dict):
    assert results_errors(results_file) == []
    assert results_file["schema_version"] == SCHEMA_VERSION


def test_results_carry_producer_and_trace_identity(results_file: dict, tiny_trace: Path):
    producer = results_file["producer"]
    assert producer["name"] == "h2learn-tlm" and producer["version"]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode == 0:  # a checkout: the commit is recorded
        assert producer["git_commit"].split("-")[0] == head.stdout.strip()
    assert results_file["trace"] == {"kind": "trace", "path": str(tiny_trace.resolve()),
                                     "sha256": file_sha256(tiny_trace)}
    assert results_file["config"]["dram"]["preset"]


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.pop("producer"), "missing key 'producer'"),
    (lambda d: d.__setitem__("total_cycles", -3), "at least 0"),
    (lambda d: d.__setitem__("total_cycles", 1.5), "expected integer"),
    (lambda d: d["engines"]["fe"].__setitem__("busy", True), "expected integer"),
    (lambda d: d["engines"]["fe"].__setitem__("napping", 1), "unexpected key 'napping'"),
    (lambda d: d["trace"].__setitem__("sha256", "xyz"), "does not match"),
    (lambda d: d["layers"][0].__setitem__("phase", "sideways"), "expected one of"),
])
def test_the_checker_finds_each_kind_of_damage(results_file: dict, damage, message):
    broken = copy.deepcopy(results_file)
    damage(broken)
    errors = results_errors(broken)
    assert errors and any(message in e for e in errors), errors


def test_the_checker_refuses_keywords_it_does_not_implement():
    with pytest.raises(SchemaError, match="oneOf"):
        _check(1, {"oneOf": [{"type": "integer"}]}, {}, "$", [])


def test_the_schema_is_package_data_and_declares_its_draft():
    schema = results_schema()
    assert schema["$schema"].endswith("draft/2020-12/schema")
    assert "reports = *.json" in (ROOT / "setup.cfg").read_text()


def test_an_installed_copy_records_no_commit(tmp_path, monkeypatch):
    """site-packages is no checkout's root, even in a virtualenv inside a checkout."""
    import reports.provenance as provenance
    (tmp_path / ".git").mkdir()                       # a checkout ...
    installed = tmp_path / ".venv" / "site-packages" / "reports"
    installed.mkdir(parents=True)                     # ... with a virtualenv inside it
    monkeypatch.setattr(provenance, "__file__", str(installed / "provenance.py"))
    assert provenance.git_commit.__wrapped__() is None
