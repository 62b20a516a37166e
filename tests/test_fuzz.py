"""Issue 9 fuzz harness, seeded and small: no traceback, no hang, run accepts only valid traces.

benchmarks/fuzz.py is the campaign; this runs a few hundred of its cases (same seed every
time, so a failure reproduces) through the CLI in forked children with a timeout.
"""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "fuzz", Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz.py")
fuzz = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fuzz)


def test_seeded_fuzz_campaign_has_no_traceback_hang_or_false_accept():
    table = fuzz.campaign(traces=60, recordings=50, results=100, seed=20261202, timeout_s=60)
    assert sum(table["trace check"].values()) == 60
    assert fuzz.failures(table) == 0, fuzz.render(table)
    for name, counts in table.items():
        assert counts["verbose"] == 0, (name, fuzz.render(table))
