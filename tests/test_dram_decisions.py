"""The command-level DRAM controller decides exactly as before its speed work.

Two checks that can fail:

* tests/golden/dram_decisions.json holds, per point (the 32 calibration points
  and 25 variants of benchmarks/dram_decisions.py), a digest of every request's
  accept, column and completion clock, what its column command found, and every
  per-bank counter on the first 3000 requests, made by the controller before
  the incremental choice (commit a9ae1c0). Refresh deliberately, only when the
  model changes on purpose: ``H2LEARN_REFRESH_GOLDEN=1 python -m pytest
  tests/test_dram_decisions.py``.
* at every decision, the incrementally kept choice (``memory/bank_choice.py``)
  is compared with a full scan of every busy bank written as the controller's
  rule states it, and the clocks the issue reuses with the full
  ``column_time`` computation.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import memory.stream as stream_module
from memory.controller import ChannelController
from memory.timing import DDR4_3200, HBM2, HBM3, LPDDR4_2400

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from dram_decisions import all_digests, field_map, issue_clocks  # noqa: E402
from dram_streams import stream  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "dram_decisions.json"
REFRESH = os.environ.get("H2LEARN_REFRESH_GOLDEN") == "1"


def test_decisions_are_those_of_the_reference_controller():
    want = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else None
    requests = want["requests"] if want else 3000
    found = all_digests(requests)
    if REFRESH:
        GOLDEN.write_text(json.dumps({"requests": requests, "digests": found}, indent=1) + "\n")
    assert want is not None, "no reference digests; create them with H2LEARN_REFRESH_GOLDEN=1"
    differ = [point for point, digest in want["digests"].items() if found.get(point) != digest]
    assert differ == [] and len(found) == len(want["digests"])


# -- the choice against a full scan -------------------------------------------------------

def scan_candidate(ctrl, bank: int, queue: list, now: int) -> tuple:
    """The request the bank serves next: its oldest, unless the open row (not yet at
    ``max_row_hits``) has a hit waiting and the oldest wants another row."""
    head, row = queue[0], ctrl.open_row[bank]
    rank = bank // ctrl.per_rank
    if row >= 0 and ctrl.row_epoch[bank] == ctrl.epoch(rank, now) and head[1] != row \
            and ctrl.served[bank] < ctrl.t.max_row_hits:
        for entry in queue:
            if entry[1] == row:
                return entry
    return head


def scan_clock(ctrl, bank: int, entry: tuple) -> int:
    """The first clock the entry's column command can issue, every limit evaluated."""
    t, rank, group = ctrl.t, bank // ctrl.per_rank, bank // ctrl.per_group
    ready = ctrl._after_refresh(rank, max(entry[3] + 1, ctrl.bank_busy[bank]))
    open_row = ctrl.open_row[bank] if ctrl.row_epoch[bank] == ctrl.epoch(rank, ready) else -1
    if open_row == entry[1]:
        col = max(ready, ctrl.col_ready[bank])
    else:
        act = max(ready, ctrl.pre_ready[bank]) + t.rp if open_row >= 0 \
            else max(ready, ctrl.act_ready[bank])
        col = max(act, ctrl.act_rank[rank] + t.rrd_s, ctrl.act_group[group] + t.rrd_l,
                  ctrl.faw[rank][0] + t.faw) + t.rcd
    return max(col, ctrl._bus_ready(rank, group, entry[2]))


class Checked(ChannelController):
    """A controller that checks each decision against the full scan."""

    decisions = 0

    def _choose(self, now: int) -> tuple[int, int]:
        bank, clock = super()._choose(now)
        best = min((scan_clock(self, b, scan_candidate(self, b, q, now)), order, b)
                   for order, (b, q) in enumerate(self.cmdq.items()))
        assert (clock, bank) == (best[0], best[2]), f"clock {now}"
        assert self.part[bank][0] == scan_candidate(self, bank, self.cmdq[bank], now)
        Checked.decisions += 1
        return bank, clock

    def _serve(self, bank: int, clock: int) -> tuple[int, tuple, int]:
        entry = self.part[bank][0]
        col, act, pre = self.column_time(bank, entry[1], entry[2], entry[3] + 1)
        served = super()._serve(bank, clock)
        kind = 0 if act is None else (1 if pre is None else 2)
        assert served == (col, entry, kind)
        assert self.bank_busy[bank] == (col if act is None else act)
        return served


CHECKED = [("DDR4 C2", DDR4_3200, 1, "C2", False, 0),
           ("DDR4 C8 issue clocks", DDR4_3200, 1, "C8", False, 5),
           ("DDR4 C4 tight queues", replace(DDR4_3200, read_queue=5, write_queue=6, bank_queue=2,
                                            drain_low=2), 1, "C4", False, 0),
           ("DDR4 C6 2 ch", DDR4_3200, 2, "C6", False, 0),
           ("HBM2 C2 8 ch", HBM2, 8, "C2", False, 0),
           ("HBM2 C3 xor", HBM2, 2, "C3", True, 0),
           ("HBM3 C8", HBM3, 4, "C8", False, 0),
           ("LPDDR4 C5", LPDDR4_2400, 1, "C5", False, 0)]


@pytest.mark.parametrize("part, channels, name, xor, every", [c[1:] for c in CHECKED],
                         ids=[c[0] for c in CHECKED])
def test_each_choice_is_the_full_scans(monkeypatch, part, channels, name, xor, every):
    monkeypatch.setattr(stream_module, "ChannelController", Checked)
    rbytes = part.burst_bytes if part is LPDDR4_2400 else 64
    a, w = stream(name, rbytes)
    n = 2500
    Checked.decisions = 0
    res = stream_module.run_stream(part, field_map(part, channels, xor), a[:n], w[:n],
                                   issue_clocks(n, every), request_bytes=rbytes)
    assert Checked.decisions == n and int(res.reads.sum() + res.writes.sum()) == n


def test_refresh_mid_stream_is_checked_too(monkeypatch):
    """A refresh interval short enough that many decisions straddle one."""
    monkeypatch.setattr(stream_module, "ChannelController", Checked)
    part = replace(DDR4_3200, refi=700, rfc=90)
    a, w = stream("C2", 64)
    Checked.decisions = 0
    res = stream_module.run_stream(part, field_map(part, 1), a[:2000], w[:2000])
    assert Checked.decisions == 2000 and int(res.refreshes.sum()) > 10
    assert np.all(res.done >= res.accept)
