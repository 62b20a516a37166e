"""Choose the accelerator's DRAM address maps by measurement on reference workloads.

Table 1, the banked model: the channel interleave (``dram.interleave_bytes``).
Table 2, the command-level model (``dram.model=controller``): the field order
(``dram.address_map``), with and without XOR bank hashing (``dram.xor_bank``).

For each workload trace and DRAM preset, simulates one run per interleave (bytes of
consecutive addresses on one channel, ``dram.interleave_bytes``) and prints the total
cycles, the DRAM row-hit rate and the channel balance (busiest channel's bytes over
the mean). The traces: the embedded sample, and reference workloads generated with
``h2learn trace gen --workload NAME --source synthetic``.

    python benchmarks/dram_interleave.py                       # sample + mnist-cnn
    python benchmarks/dram_interleave.py --workload cifar10-cnn --preset ddr4-3200
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tlm.app.api import simulate  # noqa: E402

INTERLEAVES = (64, 128, 256, 512, 1024, 2048)


def workload_trace(name: str, folder: Path) -> Path:
    out = folder / f"{name}.h5"
    subprocess.run([sys.executable, "-m", "tlm.app.cli", "trace", "gen", "--workload", name,
                    "--source", "synthetic", "-o", str(out)], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return out


MAPS = ("rochrababgco", "rorabgbachco", "rorababgchco", "robabgrachco")


def measure(trace: Path | None, preset: str, interleave: int = 0,
            **extra: object) -> tuple[int, float, float]:
    results = simulate(trace, {"dram.preset": preset, "dram.interleave_bytes": interleave,
                               **{f"dram.{k}": v for k, v in extra.items()}})
    dram = results.dram
    moved = [c["bytes_read"] + c["bytes_written"] for c in dram["per_channel"]]
    balance = max(moved) / (sum(moved) / len(moved)) if sum(moved) else 1.0
    return results.total_cycles, dram["row_hit_rate"], balance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", action="append", help="reference workload (repeatable)")
    parser.add_argument("--preset", action="append", help="DRAM preset (repeatable)")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    with tempfile.TemporaryDirectory() as tmp:
        traces = {"sample": None}
        for name in args.workload or ["mnist-cnn"]:
            traces[name] = workload_trace(name, Path(tmp))
        print("| trace | preset | interleave B | cycles | vs 256 B | row-hit | channel balance |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for label, trace in traces.items():
            for preset in args.preset or ["hbm2", "ddr4-3200"]:
                rows = {il: measure(trace, preset, il) for il in INTERLEAVES}
                base = rows[256][0]
                for il, (cycles, hit, balance) in rows.items():
                    print(f"| {label} | {preset} | {il} | {cycles:,} | {cycles / base - 1:+.1%} | "
                          f"{hit:.3f} | {balance:.2f} |", flush=True)
        print()
        print("| trace | preset | controller map | cycles | vs first | row-hit | channel balance |")
        print("|---|---|---|---:|---:|---:|---:|")
        for label, trace in traces.items():
            for preset in args.preset or ["hbm2", "ddr4-3200"]:
                base = None
                for order in MAPS:
                    for xor in (False, True):
                        cycles, hit, balance = measure(trace, preset, model="controller",
                                                       address_map=order, xor_bank=xor)
                        base = base or cycles
                        print(f"| {label} | {preset} | {order}{'+xor' if xor else ''} | "
                              f"{cycles:,} | {cycles / base - 1:+.1%} | {hit:.3f} | "
                              f"{balance:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
