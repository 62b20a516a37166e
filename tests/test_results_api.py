"""Results conveniences: a short repr and flat rows with stable columns."""
from tlm.app.api import simulate


def test_repr_is_short_and_names_the_headline(tiny_trace):
    results = simulate(tiny_trace)
    text = repr(results)
    assert len(text) < 200
    assert f"total_cycles={results.total_cycles:,}" in text


def test_rows_are_flat_with_one_column_set(tiny_trace):
    results = simulate(tiny_trace)
    rows = results.to_rows()
    assert len(rows) == len(results.layers)
    columns = list(rows[0])
    assert all(list(row) == columns for row in rows)
    assert not any(isinstance(v, dict) for row in rows for v in row.values())
    ops_total = sum(sum(layer["ops"].values()) for layer in results.layers)
    assert sum(v for row in rows for k, v in row.items() if k.startswith("ops_")) == ops_total


def test_timeline_writer_is_reachable_from_the_api(tiny_trace, tmp_path):
    import gzip, json
    from tlm.app.api import simulate_with_timeline
    path = tmp_path / "run.json.gz"
    results = simulate_with_timeline(tiny_trace, path)
    events = json.loads(gzip.decompress(path.read_bytes()))["traceEvents"]
    assert events
    assert results.total_cycles == simulate(tiny_trace).total_cycles
