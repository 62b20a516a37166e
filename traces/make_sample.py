"""Regenerate the embedded sample trace (``python -m traces.make_sample``).

Trains ``tiny-cnn`` with the reference trainer for SAMPLE_TRAIN_ITERATIONS
iterations and records the last SAMPLE_RECORDED of them, with du values, into
traces/data/sample.h5 (about half a megabyte). Seeded: rerunning it rewrites
the same tensors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from traces.sample import sample_trace_path
from traces.trainer import train
from traces.validate import validate_trace
from traces.workloads import get_workload
from traces.writer import TraceWriter, header_for_workload

SAMPLE_WORKLOAD = "tiny-cnn"
SAMPLE_TRAIN_ITERATIONS = 60
SAMPLE_RECORDED = 2
SAMPLE_SEED = 0


def make_sample(path: Path) -> None:
    """Train, record and write the sample trace to ``path`` (atomically)."""
    workload = get_workload(SAMPLE_WORKLOAD)
    first = SAMPLE_TRAIN_ITERATIONS - SAMPLE_RECORDED
    header = header_for_workload(workload, producer="h2learn-tlm trainer (traces.make_sample)")
    run = train(workload, iterations=SAMPLE_TRAIN_ITERATIONS, seed=SAMPLE_SEED,
                record=range(first, SAMPLE_TRAIN_ITERATIONS))
    with TraceWriter(path, header) as writer:
        for rec in run:
            writer.write_iteration(rec.iteration, rec.layers, loss=rec.loss, accuracy=rec.accuracy)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m traces.make_sample", description=__doc__)
    parser.add_argument("-o", "--output", type=Path, default=sample_trace_path())
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    make_sample(args.output)
    summary = validate_trace(args.output)
    print(f"wrote {args.output}: {summary.iterations} iterations of {summary.workload}, "
          f"{summary.file_bytes} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
