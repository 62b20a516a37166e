"""Speed of the DRAM model itself: transactions per wall second and simulated GB/s.

Drives ``memory.dram.Dram`` with tiles of a fixed size (and one mixed stream of
1 KiB - 256 KiB tiles, the shape of a training iteration's DMA traffic) from
``--initiators`` concurrent SimPy processes: reads and writes mixed, addresses
spread over a few 4 KiB-aligned regions. Each measurement is repeated and the
median reported, because the machine is shared and single runs are noisy.

    .venv/bin/python benchmarks/dram_speed.py [--repeats 5] [--profile]

``--profile`` runs the mixed stream on HBM2 under cProfile instead and prints
the functions with the most cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory.dram import Dram  # noqa: E402
from memory.presets import DDR4_3200, HBM2, DramPreset  # noqa: E402
from memory.payload import Command, Transaction  # noqa: E402

KIB = 1024
MIXED = 0                              # tile size meaning "1 KiB - 256 KiB, log-uniform"
TILE_BYTES = (KIB, 16 * KIB, 256 * KIB, 1024 * KIB, MIXED)
WALL_BUDGET_S = 0.3                    # aim for about this much wall time per repeat


class Speed(NamedTuple):
    preset: str
    model: str
    tile: str
    transactions: int
    txn_per_s: float
    sim_gbps: float


def tile_stream(tile_bytes: int, n: int, seed: int = 0) -> list[Transaction]:
    """``n`` transactions over 8 regions: 60 % reads; MIXED draws sizes log-uniformly."""
    rng = np.random.default_rng(seed)
    bases = rng.integers(0, 1 << 16, 8) * 4096 * 16
    if tile_bytes == MIXED:
        sizes = np.exp(rng.uniform(np.log(KIB), np.log(256 * KIB), n)).astype(int)
    else:
        sizes = np.full(n, tile_bytes)
    offsets = rng.integers(0, 256, n) * 4096
    reads = rng.random(n) < 0.6
    return [Transaction(Command.READ if rd else Command.WRITE,
                        int(bases[i % 8] + off), int(size), initiator="bench")
            for i, (off, size, rd) in enumerate(zip(offsets, sizes, reads))]


def run_once(dram_cls: Callable[..., Dram], preset: DramPreset, model: str,
             txns: list[Transaction], initiators: int) -> tuple[float, float]:
    """(wall seconds, simulated GB/s) of one closed-loop run."""
    env = simpy.Environment()
    dram = dram_cls(env, "dram", preset, 1000.0, model)
    queue = iter(txns)

    def initiator(env: simpy.Environment):
        for txn in queue:
            yield dram.access(txn)

    for _ in range(initiators):
        env.process(initiator(env))
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0, dram.stats().achieved_gbps


def measure(preset: DramPreset, model: str, tile_bytes: int, repeats: int,
            initiators: int = 8, dram_cls: Callable[..., Dram] = Dram) -> Speed:
    """Median speed over ``repeats`` runs, each sized to about WALL_BUDGET_S."""
    probe = tile_stream(tile_bytes, 20)
    wall, _ = run_once(dram_cls, preset, model, probe, initiators)
    n = int(np.clip(WALL_BUDGET_S / max(wall / len(probe), 1e-6), 50, 20000))
    txns = tile_stream(tile_bytes, n)
    runs = [run_once(dram_cls, preset, model, txns, initiators) for _ in range(repeats)]
    tile = "mixed" if tile_bytes == MIXED else f"{tile_bytes // KIB} KiB"
    return Speed(preset.name, model, tile, n, statistics.median(n / w for w, _ in runs),
                 runs[0][1])


def profile(n: int = 3000) -> None:
    txns = tile_stream(MIXED, n)
    profiler = cProfile.Profile()
    profiler.runcall(run_once, Dram, HBM2, "banked", txns, 8)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--initiators", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    if args.profile:
        profile()
        return 0
    print(f"{'preset':<10} {'model':<9} {'tile':>8} {'txns':>6} {'txn/s':>9} {'sim GB/s':>9}")
    for preset in (HBM2, DDR4_3200):
        for model in ("banked", "bandwidth"):
            for tile in TILE_BYTES:
                s = measure(preset, model, tile, args.repeats, args.initiators)
                print(f"{s.preset:<10} {s.model:<9} {s.tile:>8} {s.transactions:6d} "
                      f"{s.txn_per_s:9.0f} {s.sim_gbps:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
