"""Cost of one request in ``h2learn dram`` against a bare SimPy Store hand-off.

In one run, alternately: a SimPy producer ``put``s N items into a Store that a
consumer ``get``s (the cheapest way one process hands work to another), and the
command-level model serves N requests of a stream (benchmarks/dram_streams.py)
on one part. Each is repeated and the median per item reported, with their
ratio, because the machine is shared and single runs are noisy.

    python benchmarks/dram_stream_speed.py [--requests 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dram_streams import stream  # noqa: E402
from memory import timing  # noqa: E402
from memory.field_map import FieldMap  # noqa: E402
from memory.stream import run_stream  # noqa: E402

CASES = (("C1", "sequential writes"), ("C3", "two read streams"), ("C2", "random R/W"),
         ("C8", "random 256 B tiles"))
PARTS = {"ddr4-3200": (timing.DDR4_3200, 1), "hbm2": (timing.HBM2, 8)}


def store_handoff_s(n: int) -> float:
    env = simpy.Environment()
    store = simpy.Store(env)

    def producer(env):
        for i in range(n):
            yield store.put(i)

    def consumer(env):
        for _ in range(n):
            yield store.get()

    env.process(producer(env))
    env.process(consumer(env))
    start = time.perf_counter()
    env.run()
    return (time.perf_counter() - start) / n


def stream_s(part_name: str, name: str, n: int) -> float:
    part, channels = PARTS[part_name]
    amap = FieldMap(part.address_map, channels, part.ranks, part.bank_groups,
                    part.banks_per_group, part.row_bytes // part.burst_bytes, part.burst_bytes)
    addresses, writes = stream(name, 64)
    start = time.perf_counter()
    run_stream(part, amap, addresses[:n], writes[:n])
    return (time.perf_counter() - start) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| part | stream | µs/request | Store hand-off µs | ratio |")
    print("|---|---|---:|---:|---:|")
    for part in PARTS:
        for name, what in CASES:
            base, model = [], []
            for _ in range(args.repeats):          # alternate, so load shifts hit both
                base.append(store_handoff_s(args.requests))
                model.append(stream_s(part, name, args.requests))
            b, m = statistics.median(base), statistics.median(model)
            print(f"| {part} | {name} ({what}) | {m * 1e6:.2f} | {b * 1e6:.2f} | {m / b:.1f}× |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
