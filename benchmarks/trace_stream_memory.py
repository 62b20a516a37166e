"""Benchmark: streaming a large synthetic trace needs memory of one chunk, not of the trace.

Generates a synthetic trace (default: mnist-cnn, T=20, batch 100, one
iteration: ~315 MB as dense bools), then reads every tensor of every layer one
timestep at a time, as the simulator does, and reports the file size, the
compression ratio, the read speed, and peak memory while streaming — Python
heap (tracemalloc, includes the numpy arrays) and process RSS growth (includes
HDF5's chunk cache) — against the dense size.

    .venv/bin/python benchmarks/trace_stream_memory.py [--workload NAME] [--iterations N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from traces.reader import open_trace, unpacked_bytes  # noqa: E402
from traces.record import TENSORS  # noqa: E402
from traces.synthetic import generate_trace  # noqa: E402
from traces.workloads import get_workload  # noqa: E402


def rss_mib() -> float:
    """Current resident set size (Linux /proc), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stream_all(path: Path) -> tuple[float, int, float, float]:
    """(seconds, packed bytes read, tracemalloc peak MiB, RSS growth MiB)."""
    with open_trace(path) as reader:
        meta = reader.meta
        rss0, peak_rss, packed = rss_mib(), 0.0, 0
        tracemalloc.start()
        start = time.perf_counter()
        for k in range(meta.iterations):
            for layer in range(len(meta.network.layers)):
                for tensor in TENSORS:
                    for t in range(meta.timesteps):
                        spikes = reader.read(k, layer, tensor, t)
                        packed += spikes.size // 8
                    peak_rss = max(peak_rss, rss_mib())
        seconds = time.perf_counter() - start
        heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return seconds, packed, heap_peak, peak_rss - rss0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="mnist-cnn")
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--batch", type=int)
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    workload = get_workload(args.workload)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.h5"
        start = time.perf_counter()
        generate_trace(path, workload, iterations=args.iterations, batch=args.batch)
        gen_s = time.perf_counter() - start
        with open_trace(path) as reader:
            dense = unpacked_bytes(reader.meta, False)
        size = path.stat().st_size
        seconds, packed, heap, rss = stream_all(path)
    mib = 2**20
    print(f"workload {args.workload}, {args.iterations} iteration(s)")
    print(f"generate: {gen_s:.1f} s; file {size / mib:.1f} MiB; dense bools {dense / mib:.1f} MiB; "
          f"compression {dense / size:.1f}x (vs bit-packed {dense / 8 / size:.2f}x)")
    print(f"stream all tensors: {seconds:.2f} s, {dense / mib / seconds:.0f} MiB/s dense "
          f"({packed / mib / seconds:.0f} MiB/s packed, links read through)")
    print(f"peak Python heap while streaming: {heap:.1f} MiB ({100 * heap * mib / dense:.2f}% "
          f"of dense); RSS growth {rss:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
