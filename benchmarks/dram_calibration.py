"""Calibrate the banked DRAM model against cycle-accurate DRAMsim3.

Drives ``memory.dram.Dram`` with the three streams of REFERENCE.md's
"Cycle-accurate reference points" — sequential 32 MiB reads, 200k random
64 B reads over 1 GiB (one transaction each), random 2 KiB tiles over 1 GiB
totalling 32 MiB — on DDR4-3200 (1 channel) and HBM2 cut to 1 channel, with
the row-interleaved address map that matches DRAMsim3's, and ``--outstanding``
transactions in flight (a closed loop, as a controller queue would hold).
Prints achieved GB/s, fraction of peak and row-hit rate next to DRAMsim3's
numbers and the bandwidth-only prediction, plus the simulator's own speed.

    .venv/bin/python benchmarks/dram_calibration.py [--scale 0.1] [--outstanding 32]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory.dram import Dram  # noqa: E402
from memory.presets import DDR4_3200, HBM2, DramPreset  # noqa: E402
from memory.payload import Command, Transaction  # noqa: E402

MIB, GIB = 1 << 20, 1 << 30
SEQ_TXN_BYTES = 2048  # sequential stream issued as 2 KiB transactions

# DRAMsim3 (REFERENCE.md): stream -> preset -> (GB/s, row-hit rate)
REFERENCE = {
    "sequential": {"ddr4-3200": (16.9, 0.99), "hbm2": (29.4, 0.97)},
    "random-64B": {"ddr4-3200": (20.5, 0.00), "hbm2": (7.8, 0.00)},
    "random-2KiB": {"ddr4-3200": (21.8, 0.97), "hbm2": (29.1, 0.97)},
}


class Result(NamedTuple):
    stream: str
    preset: str
    model: str
    gbps: float
    peak_gbps: float
    row_hit_rate: float
    transactions: int
    wall_s: float


def stream_addresses(stream: str, scale: float, seed: int = 1) -> tuple[np.ndarray, int]:
    """Start addresses and the transaction size of one reference stream."""
    rng = np.random.default_rng(seed)
    if stream == "sequential":
        n = int(32 * MIB * scale) // SEQ_TXN_BYTES
        return np.arange(n, dtype=np.int64) * SEQ_TXN_BYTES, SEQ_TXN_BYTES
    if stream == "random-64B":
        n = int(200_000 * scale)
        return rng.integers(0, GIB // 64, n) * 64, 64
    n = int(32 * MIB * scale) // 2048
    return rng.integers(0, GIB // 2048, n) * 2048, 2048


def one_channel(preset: DramPreset) -> DramPreset:
    return replace(preset, channels=1)


def drive(dram: Dram, addresses: np.ndarray, nbytes: int, outstanding: int) -> None:
    """Closed loop: ``outstanding`` initiators take the next address in turn."""
    env = dram.env
    queue: Iterator[int] = iter(addresses.tolist())

    def initiator(env: simpy.Environment):
        for address in queue:
            yield dram.access(Transaction(Command.READ, address, nbytes, initiator="cal"))

    for _ in range(outstanding):
        env.process(initiator(env))
    env.run()


def measure(stream: str, preset: DramPreset, model: str, scale: float,
            outstanding: int) -> Result:
    env = simpy.Environment()
    dram = Dram(env, "dram", preset, 1000.0, model, interleave_bytes=preset.row_bytes)
    addresses, nbytes = stream_addresses(stream, scale)
    t0 = time.perf_counter()
    drive(dram, addresses, nbytes, outstanding)
    wall = time.perf_counter() - t0
    s = dram.stats()
    return Result(stream, preset.name, model, s.achieved_gbps, s.peak_gbps,
                  s.row_hit_rate, s.transactions, wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the reference stream lengths")
    parser.add_argument("--outstanding", type=int, default=32)
    args = parser.parse_args(argv)
    header = (f"{'stream':<12} {'preset':<10} {'banked GB/s':>11} {'of peak':>7} "
              f"{'hits':>5} {'DRAMsim3':>8} {'dev':>6} {'ref hits':>8} "
              f"{'bw-only':>7} {'txn/s':>8}")
    print(header)
    for stream, refs in REFERENCE.items():
        for base in (DDR4_3200, HBM2):
            preset = one_channel(base)
            banked = measure(stream, preset, "banked", args.scale, args.outstanding)
            bw = measure(stream, preset, "bandwidth", args.scale, args.outstanding)
            ref_gbps, ref_hits = refs[preset.name]
            print(f"{stream:<12} {preset.name:<10} {banked.gbps:11.1f} "
                  f"{banked.gbps / banked.peak_gbps:7.2f} {banked.row_hit_rate:5.2f} "
                  f"{ref_gbps:8.1f} {banked.gbps / ref_gbps - 1:+6.0%} {ref_hits:8.2f} "
                  f"{bw.gbps:7.1f} {banked.transactions / banked.wall_s:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
