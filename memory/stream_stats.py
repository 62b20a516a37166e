"""The summary of one trace-driven run: totals, latency percentiles, per channel and bank.

Definitions follow the calibration set (and DRAMsim3's own statistics): time is
the clock of the last completion; GB/s is requests x request bytes / time;
read latency runs from acceptance into the read queue to the end of the data
burst (time blocked before acceptance excluded); a column command is a row hit
when its row has already served one since its ACT.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memory.stream import StreamResult

PERCENTILES = (50, 90, 99)


def summarize(result: StreamResult, preset: str, address_map: str) -> dict[str, Any]:
    t, n = result.timing, len(result.done)
    cycles = result.cycles
    seconds = cycles * t.tck_ns * 1e-9
    nbytes = n * result.request_bytes
    gbps = nbytes / (cycles * t.tck_ns) if cycles else 0.0
    peak = t.peak_gbps * result.channels * result.request_bytes / t.burst_bytes
    latency_ns = (result.done - result.accept)[~result.is_write] * t.tck_ns
    columns = int(result.reads.sum() + result.writes.sum())
    return {
        "preset": preset, "address_map": address_map, "channels": result.channels,
        "request_bytes": result.request_bytes, "tck_ns": t.tck_ns,
        "requests": n, "reads": int((~result.is_write).sum()), "writes": int(result.is_write.sum()),
        "bytes": nbytes, "cycles": cycles, "seconds": seconds, "gbps": gbps,
        "peak_gbps": peak, "fraction_of_peak": gbps / peak if peak else 0.0,
        "mean_read_latency_ns": float(latency_ns.mean()) if len(latency_ns) else None,
        "read_latency_percentiles_ns": (
            {f"p{q}": float(np.percentile(latency_ns, q)) for q in PERCENTILES}
            | {"max": float(latency_ns.max())} if len(latency_ns) else None),
        "row_hit_rate": int(result.hits.sum()) / columns if columns else 0.0,
        "row_hits": int(result.hits.sum()), "activations": int(result.acts.sum()),
        "refreshes": int(result.refreshes.sum()),
        "per_channel": [_counts(result, ch) | {"channel": ch} for ch in range(result.channels)],
        "per_bank": [_counts(result, ch, b) | {"channel": ch, "bank": b}
                     for ch in range(result.channels) for b in range(t.banks)],
    }


def _counts(result: StreamResult, channel: int, bank: int | None = None) -> dict[str, int]:
    pick = slice(None) if bank is None else bank
    reads = int(np.sum(result.reads[channel, pick]))
    writes = int(np.sum(result.writes[channel, pick]))
    return {"reads": reads, "writes": writes, "bytes": (reads + writes) * result.request_bytes,
            "row_hits": int(np.sum(result.hits[channel, pick])),
            "activations": int(np.sum(result.acts[channel, pick]))}
