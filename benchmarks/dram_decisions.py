"""Every decision of the command-level DRAM model, dumped so that two versions can be compared.

Speed work on ``memory/controller.py`` and ``memory/stream.py`` must not move a
single clock. This runs a prefix of each calibration stream
(benchmarks/dram_streams.py) on each configuration of
benchmarks/dram_calibration.py, plus variants that reach the rarer paths
(tight queues, where moves and the issue offer block; issue clocks with idle
gaps; an XOR-hashed map; HBM3's four-clock tCCD_S), and writes per request the
clock it was accepted, the clock of its column command, what that command found
(0 row hit, 1 bank closed, 2 another row open) and the clock it completed, then
every per-bank counter and the refresh counts. One JSON line per point, with a
digest; ``--compare`` names the first request or counter that differs.

    python benchmarks/dram_decisions.py --out /tmp/base.jsonl            # before
    python benchmarks/dram_decisions.py --out /tmp/new.jsonl --compare /tmp/base.jsonl
    python benchmarks/dram_decisions.py --requests 3000 --digests \
        --out tests/golden/dram_decisions.json

The digests in tests/golden/dram_decisions.json were made by the controller
before its speed work (commit a9ae1c0); tests/test_dram_decisions.py checks the
current one against them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dram_streams import NAMES, stream  # noqa: E402
from memory import timing  # noqa: E402
from memory.field_map import FieldMap  # noqa: E402
from memory.stream import run_stream  # noqa: E402

REQUEST_BYTES = {"LPDDR4_8Gb_x16_2400_1ch": 128}
CONFIGS = {"DDR4_8Gb_x8_3200_1ch": (timing.DDR4_3200, 1),
           "HBM2_8Gb_x128_1ch": (timing.HBM2, 1),
           "HBM2_8Gb_x128_8ch": (timing.HBM2, 8),
           "LPDDR4_8Gb_x16_2400_1ch": (timing.LPDDR4_2400, 1)}
# (name, part, channels, xor map, issue clocks every k requests, streams)
VARIANTS = (("DDR4_tight_queues", replace(timing.DDR4_3200, read_queue=4, write_queue=6,
                                          bank_queue=1, drain_low=2), 1, False, 0, NAMES),
            ("HBM2_tight_queues_4ch", replace(timing.HBM2, read_queue=3, write_queue=3,
                                              bank_queue=2, drain_low=1), 4, False, 0, NAMES),
            ("DDR4_issue_clocks", timing.DDR4_3200, 2, False, 3, ("C2", "C4", "C8")),
            ("HBM2_xor_2ch", timing.HBM2, 2, True, 0, ("C2", "C3", "C7")),
            ("HBM3_16ch", timing.HBM3, 16, False, 0, ("C1", "C2", "C6")))


def field_map(part, channels: int, xor: bool = False) -> FieldMap:
    return FieldMap(part.address_map, channels, part.ranks, part.bank_groups,
                    part.banks_per_group, part.row_bytes // part.burst_bytes, part.burst_bytes,
                    xor)


def issue_clocks(n: int, every: int) -> np.ndarray | None:
    """Issue clocks that hold back every ``every``-th request: idle gaps and bursts."""
    if not every:
        return None
    gaps = np.where(np.arange(n) % every == 0, np.arange(n) % 37, 0)
    return np.cumsum(gaps).astype(np.int64)


def decisions(part, channels: int, addresses, writes, request_bytes: int = 64,
              xor: bool = False, issue=None) -> dict:
    """Per-request clocks and every counter of one run."""
    columns: dict[int, tuple[int, int]] = {}

    def observer(request: int, col: int, is_write: bool, kind: int) -> None:
        columns[request] = (col, kind)

    import memory.stream as stream_module
    real = stream_module.ChannelController

    class Observed(real):
        def __init__(self, t):
            super().__init__(t)
            self.observer = observer

    stream_module.ChannelController = Observed
    try:
        res = run_stream(part, field_map(part, channels, xor), addresses, writes, issue,
                         request_bytes=request_bytes)
    finally:
        stream_module.ChannelController = real
    n = len(addresses)
    col = [columns.get(i, (-1, -1)) for i in range(n)]
    return {"accept": res.accept.tolist(), "column": [c for c, _ in col],
            "kind": [k for _, k in col], "done": res.done.tolist(),
            "reads": res.reads.tolist(), "writes": res.writes.tolist(),
            "hits": res.hits.tolist(), "acts": res.acts.tolist(),
            "refreshes": res.refreshes.tolist()}


def points(requests: int):
    """(label, part, channels, request bytes, xor, issue every k, stream) of every point."""
    for config, (part, channels) in CONFIGS.items():
        for name in NAMES:
            yield f"{config}/{name}", part, channels, REQUEST_BYTES.get(config, 64), False, 0, name
    for label, part, channels, xor, every, names in VARIANTS:
        for name in names:
            yield f"{label}/{name}", part, channels, 64, xor, every, name


def digest(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def all_digests(requests: int) -> dict[str, str]:
    """{point: digest of its decisions} on the first ``requests`` of every stream."""
    found = {}
    for label, part, channels, rbytes, xor, every, name in points(requests):
        a, w = stream(name, rbytes)
        a, w = a[:requests], w[:requests]
        found[label] = digest(decisions(part, channels, a, w, rbytes, xor,
                                        issue_clocks(len(a), every)))
    return found


def first_difference(mine: dict, theirs: dict) -> str:
    for key in mine:
        if mine[key] != theirs.get(key):
            if key in ("accept", "column", "kind", "done"):
                i = next(i for i, (a, b) in enumerate(zip(mine[key], theirs[key])) if a != b)
                return f"{key}[{i}]: {mine[key][i]} != {theirs[key][i]}"
            return f"{key} differs"
    return "same"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="prefix of each stream")
    parser.add_argument("--out", required=True, help="JSON lines: one point per line")
    parser.add_argument("--compare", help="an earlier --out file: report every difference")
    parser.add_argument("--digests", action="store_true",
                        help="write only {point: digest} as JSON to --out (the form of "
                             "tests/golden/dram_decisions.json)")
    args = parser.parse_args()
    if args.digests:
        found = {"requests": args.requests, "digests": all_digests(args.requests)}
        Path(args.out).write_text(json.dumps(found, indent=1) + "\n")
        return 0
    old = {}
    if args.compare:
        old = {p["point"]: p for p in map(json.loads, Path(args.compare).read_text().splitlines())}
    differ = 0
    with open(args.out, "w") as out:
        for label, part, channels, rbytes, xor, every, name in points(args.requests):
            a, w = stream(name, rbytes)
            a, w = a[:args.requests], w[:args.requests]
            record = decisions(part, channels, a, w, rbytes, xor, issue_clocks(len(a), every))
            line = {"point": label, "digest": digest(record), **record}
            out.write(json.dumps(line) + "\n")
            verdict = ""
            if label in old:
                same = old[label]["digest"] == line["digest"]
                differ += not same
                verdict = "same" if same else "DIFFERS: " + first_difference(record, old[label])
            print(f"{label:34s} {line['digest']} {verdict}", flush=True)
    if args.compare:
        print(f"{differ} of {len(old)} points differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
