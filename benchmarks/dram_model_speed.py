"""Cost of one DRAM transaction in the banked model, on the traffic of real runs, before/after.

Runs ``h2learn run`` on reference workloads (synthetic traces, cached) with every
``Dram.access`` call logged (arrival cycle, address, bytes, read/write), then
re-serves each log on a fresh ``Dram`` — the same calls in the same order, so
the model sees exactly the state it saw in the run — once with the working
tree's ``memory/`` and once with ``memory/`` as of ``--baseline REV``, each in
its own child process, alternating. The two must agree to the last bit (a
digest of every AccessRecord, the statistics and the bandwidth windows), else
the run fails. Prints, per workload and part, µs per transaction (medians) and
the ratio.

    python benchmarks/dram_model_speed.py [--baseline a9ae1c0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import json
import pickle
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

WORKLOADS = ("mnist-cnn", "cifar10-cifarnet", "dvsgesture-cnn")
PARTS = ("hbm2", "ddr4-3200")
# serves a pickled list of logs with the memory/ package found first on sys.path
CHILD = r'''
import hashlib, json, pickle, sys, time
sys.path.insert(0, sys.argv[1])
from memory.config import DramConfig
from memory.dram import Dram
from memory.payload import Command, Transaction
from memory.presets import resolve_dram

class Clock:                      # Dram reads env.now and asks for a timeout only
    now = 0
    def timeout(self, delay, value=None):
        return value

out = {}
for name, part, log in pickle.load(open(sys.argv[2], "rb")):
    clock = Clock()
    dram = Dram(clock, "dram", resolve_dram(DramConfig(preset=part)), 1000.0, "banked")
    txns = [(t, Transaction(Command.READ if r else Command.WRITE, a, n)) for t, a, n, r in log]
    records, start = [], time.perf_counter()
    for arrival, txn in txns:
        clock.now = arrival
        records.append(tuple(dram.access(txn)))
    seconds = time.perf_counter() - start
    rec = dram.record()
    digest = hashlib.sha256(json.dumps([records, rec.stats.to_dict(), rec.until_cycle,
                                        rec.window_bytes.tolist()]).encode()).hexdigest()
    out[f"{name} {part}"] = [digest, seconds / len(txns) * 1e6]
print(json.dumps(out))
'''


def capture(trace: Path, part: str) -> list[tuple[int, int, int, bool]]:
    """Every Dram.access call of one ``h2learn run`` of ``trace`` on ``part``."""
    import memory.dram
    from tlm.app.api import simulate
    log, access = [], memory.dram.Dram.access

    def logged(dram, txn):
        log.append((dram.env.now, txn.address, txn.length_bytes, txn.is_read))
        return access(dram, txn)

    memory.dram.Dram.access = logged
    try:
        simulate(str(trace), {"dram.preset": part})
    finally:
        memory.dram.Dram.access = access
    return log


def baseline_tree(rev: str, folder: Path) -> Path:
    """``memory/`` as of ``rev``, extracted under ``folder``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "memory"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def serve(tree: Path, logs_path: Path) -> dict[str, list]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(logs_path)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"serving with {tree} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="a9ae1c0",
                        help="git revision of memory/ to compare with (default: before the "
                             "speed-up of the banked model)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "h2learn-bench")
    args = parser.parse_args()
    from measured import print_header
    from simulate_speed import make_trace
    print_header()
    args.cache.mkdir(parents=True, exist_ok=True)
    logs = [(w, part, capture(make_trace(w, args.cache), part))
            for w in WORKLOADS for part in PARTS]
    with tempfile.TemporaryDirectory() as tmp:
        logs_path = Path(tmp) / "logs.pkl"
        logs_path.write_bytes(pickle.dumps(logs))
        trees = {"baseline": baseline_tree(args.baseline, Path(tmp) / "base"), "current": ROOT}
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, tree in trees.items():
                runs[name].append(serve(tree, logs_path))
    print(f"{'workload':<18}{'part':<11}{'txns':>6}{'before µs':>11}{'after µs':>10}{'ratio':>7}")
    for w, part, log in logs:
        key = f"{w} {part}"
        if runs["baseline"][0][key][0] != runs["current"][0][key][0]:
            raise SystemExit(f"{key}: results differ from {args.baseline}")
        before, after = (statistics.median(r[key][1] for r in runs[n]) for n in trees)
        print(f"{w:<18}{part:<11}{len(log):6d}{before:11.1f}{after:10.1f}{before / after:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
