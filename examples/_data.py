"""Event data for the examples: a downloaded tonic dataset, or the project's own DVS-like digits.

Both examples' networks take 2×34×34 frames (N-MNIST's sensor); a DVS-Gesture copy
is scaled from its 128×128 sensor to 34×34 by tonic's ``Downsample``, and the
network gets one output per class of the data (10, or 11 for DVS-Gesture).
"""

from __future__ import annotations

import argparse
import sys
from typing import Iterator

import numpy as np

from traces.datasets import encode_batch, make_images
from traces.workloads import get_workload

INPUT_SHAPE = (2, 34, 34)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="OUT.h5")
    parser.add_argument("--iterations", type=int, default=4, help="training steps (the last is captured)")
    parser.add_argument("--timesteps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--data-dir", metavar="DIR",
                        help="a downloaded tonic N-MNIST or DVS-Gesture copy (tonic's save_to "
                             "folder), framed by tonic's ToFrame to 34×34 and T; default: the "
                             "project's DVS-like event-coded digits, 34×34, made here")
    parser.add_argument("--dataset", choices=("nmnist", "dvsgesture"),
                        help="--data-dir: which dataset, when DIR holds both")
    parser.add_argument("--seed", type=int, default=0)


class Inputs:
    """The examples' training batches: (bool spikes [T, B, 2, 34, 34], labels [B]) per iteration."""

    def __init__(self, args: argparse.Namespace) -> None:
        if min(args.iterations, args.timesteps, args.batch) < 1:
            sys.exit("error: --iterations, --timesteps and --batch must be at least 1")
        self.args, self.recordings = args, None
        if args.data_dir:
            from traces.events import EventDataError, find_recordings

            try:
                self.recordings = find_recordings(args.data_dir, args.dataset)
                self.recordings.check_input(INPUT_SHAPE)
            except EventDataError as exc:
                sys.exit(f"error: {exc}")   # one line, exit status 1
        elif args.dataset:
            sys.exit("error: --dataset needs --data-dir DIR")

    @property
    def classes(self) -> int:
        return self.recordings.dataset.classes if self.recordings else 10

    @property
    def name(self) -> str:
        if self.recordings:
            return self.recordings.dataset.title
        return "nmnist-like (project's event-coded digits)"

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        args = self.args
        if self.recordings is not None:
            yield from self._recorded()
            return
        workload = get_workload("nmnist-cnn")
        rng = np.random.default_rng([args.seed, 1])
        images, labels = make_images(args.batch * args.iterations, 34, 34, args.seed)
        for i in range(args.iterations):
            part = slice(i * args.batch, (i + 1) * args.batch)
            yield encode_batch(workload, images[part], args.timesteps, rng), labels[part]

    def _recorded(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Seeded shuffles of the recordings (they lie sorted by class on disk)."""
        from traces.events import EventDataError

        args, recordings = self.args, self.recordings
        order = np.random.default_rng([args.seed, 2]).permutation(len(recordings))
        order = np.resize(order, args.batch * args.iterations)
        for i in range(args.iterations):
            take = order[i * args.batch:(i + 1) * args.batch]
            try:
                spikes = recordings.spikes(take, args.timesteps, INPUT_SHAPE)
            except EventDataError as exc:
                sys.exit(f"error: {exc}")
            yield spikes, recordings.labels[take]
