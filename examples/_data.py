"""Event data for the examples: a downloaded tonic dataset, or the project's own DVS-like digits."""

from __future__ import annotations

import argparse

import numpy as np

from traces.datasets import encode_batch, make_images
from traces.workloads import get_workload


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="OUT.h5")
    parser.add_argument("--iterations", type=int, default=4, help="training steps (the last is captured)")
    parser.add_argument("--timesteps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--data-dir", metavar="DIR",
                        help="a downloaded tonic N-MNIST copy (tonic's save_to); default: the "
                             "project's DVS-like event-coded digits, 34×34, made here")
    parser.add_argument("--seed", type=int, default=0)


def batches(args: argparse.Namespace):
    """Yield (bool spikes [T, B, 2, 34, 34], labels [B]) per iteration, and the dataset's name."""
    if args.data_dir:
        from traces.events import load_batch

        for i in range(args.iterations):
            yield load_batch("nmnist", args.data_dir, args.batch, args.timesteps,
                             start=i * args.batch)
        return
    workload = get_workload("nmnist-cnn")
    rng = np.random.default_rng([args.seed, 1])
    images, labels = make_images(args.batch * args.iterations, 34, 34, args.seed)
    for i in range(args.iterations):
        part = slice(i * args.batch, (i + 1) * args.batch)
        yield encode_batch(workload, images[part], args.timesteps, rng), labels[part]


def dataset_name(args: argparse.Namespace) -> str:
    return "n-mnist (tonic)" if args.data_dir else "nmnist-like (project's event-coded digits)"
