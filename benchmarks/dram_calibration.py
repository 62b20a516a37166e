"""Calibrate the command-level DRAM model against the cycle-accurate simulator DRAMsim3.

Runs the eight calibration streams C1-C8 (benchmarks/dram_streams.py) on the four
reference configurations — DDR4_8Gb_x8_3200 (1 channel), HBM2_8Gb_x128 (1 and 8
channels), LPDDR4_8Gb_x16_2400 (1 channel, 128 B requests) — with each part's
DRAMsim3 address map and the in-order, head-of-line, 8-per-clock issue
discipline, and prints model vs DRAMsim3 (benchmarks/data/dram_reference.json:
DRAMsim3 commit 29817593b3389f1337235d63cac515024ab8fd6e) per point: GB/s, the
error, row-hit rates, mean read latency, and the model's cost per request.

    python benchmarks/dram_calibration.py                 # the whole set (minutes)
    python benchmarks/dram_calibration.py --scale 0.05    # the first 5 % of each stream
    python benchmarks/dram_calibration.py --json out.json

Goal: bandwidth within ±10 % on streaming points and ±25 % on random ones
(C2, C6, C8), row-hit rate within 0.02. ``--scale`` below 1 compares a prefix
with the full-stream reference, so it is indicative only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dram_streams import NAMES, stream  # noqa: E402
from memory import timing  # noqa: E402
from memory.field_map import FieldMap  # noqa: E402
from memory.stream import run_stream  # noqa: E402
from memory.stream_stats import summarize  # noqa: E402

REFERENCE = ROOT / "benchmarks" / "data" / "dram_reference.json"
CONFIGS = {"DDR4_8Gb_x8_3200_1ch": (timing.DDR4_3200, 1),
           "HBM2_8Gb_x128_1ch": (timing.HBM2, 1),
           "HBM2_8Gb_x128_8ch": (timing.HBM2, 8),
           "LPDDR4_8Gb_x16_2400_1ch": (timing.LPDDR4_2400, 1)}
RANDOM = ("C2", "C6", "C8")


@dataclass
class Point:
    config: str
    stream: str
    gbps: float
    ref_gbps: float
    error: float
    row_hit: float
    ref_row_hit: float
    latency_ns: float | None
    ref_latency_ns: float | None
    requests: int
    us_per_request: float

    @property
    def within_goal(self) -> bool:
        bound = 0.25 if self.stream in RANDOM else 0.10
        return abs(self.error) <= bound and abs(self.row_hit - self.ref_row_hit) <= 0.02


def run_point(config: str, name: str, ref: dict, scale: float) -> Point:
    part, channels = CONFIGS[config]
    request_bytes = ref["request_bytes"]
    amap = FieldMap(part.address_map, channels, part.ranks, part.bank_groups,
                    part.banks_per_group, part.row_bytes // part.burst_bytes, part.burst_bytes)
    addresses, writes = stream(name, request_bytes)
    n = max(1, int(len(addresses) * scale))
    start = time.perf_counter()
    result = run_stream(part, amap, addresses[:n], writes[:n], request_bytes=request_bytes)
    wall = time.perf_counter() - start
    s = summarize(result, config, amap.order)
    want = ref["streams"][name]
    return Point(config, name, s["gbps"], want["gbps"], s["gbps"] / want["gbps"] - 1,
                 s["row_hit_rate"], want["row_hit_rate"], s["mean_read_latency_ns"],
                 want["mean_read_latency_ns"], n, wall / n * 1e6)


def print_table(points: list[Point]) -> None:
    print("| config | stream | model GB/s | DRAMsim3 GB/s | error | row-hit model / ref "
          "| mean read latency ns model / ref | µs/request |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for p in points:
        lat = "—" if p.latency_ns is None else f"{p.latency_ns:.0f} / {p.ref_latency_ns:.0f}"
        mark = "" if p.within_goal else " ✗"
        print(f"| {p.config} | {p.stream} | {p.gbps:.2f} | {p.ref_gbps:.2f} | "
              f"{p.error:+.1%}{mark} | {p.row_hit:.3f} / {p.ref_row_hit:.3f} | {lat} | "
              f"{p.us_per_request:.1f} |")


def print_statistics(points: list[Point]) -> None:
    for label, group in (("streaming", [p for p in points if p.stream not in RANDOM]),
                         ("random", [p for p in points if p.stream in RANDOM])):
        errors = [abs(p.error) for p in group]
        hits = [abs(p.row_hit - p.ref_row_hit) for p in group]
        if errors:
            print(f"{label}: {len(group)} points, |error| median {statistics.median(errors):.1%}, "
                  f"max {max(errors):.1%}; row-hit |diff| max {max(hits):.3f}")
    print(f"within goal: {sum(p.within_goal for p in points)} of {len(points)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of each stream to run (default 1: the whole stream)")
    parser.add_argument("--config", action="append", choices=list(CONFIGS),
                        help="only this configuration (repeatable)")
    parser.add_argument("--stream", action="append", choices=list(NAMES),
                        help="only this stream (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="also write the points as JSON")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    reference = json.loads(REFERENCE.read_text())["configs"]
    points = []
    for config in args.config or CONFIGS:
        for name in args.stream or NAMES:
            points.append(run_point(config, name, reference[config], args.scale))
            print(f"  {config} {name}: {points[-1].error:+.1%}", file=sys.stderr, flush=True)
    print_table(points)
    print()
    print_statistics(points)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(p) for p in points], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
