"""Reference BPTT trainer: trains a workload on the generated digit data and records traces.

The operators (LIF forward, BPTT backward, loss, weight initialisation) are in
``traces/bptt.py``; this module is the training loop around them: SGD with
momentum on batches of rate- or event-coded digits (or, given ``recordings``,
of a downloaded N-MNIST / DVS-Gesture copy read through tonic,
``traces/events.py``), streaming the iterations chosen for recording as
``RecordedIteration`` values holding one ``LayerRecord`` per layer (the
tensors a trace stores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from traces.bptt import (DEFAULT_LR, LOSSES, Weights, accuracy, backward, calibrate_weights,
                         forward, init_weights, layer_records, loss_and_grad)
from traces.datasets import encode_batch, image_size, make_images
from traces.events import Recordings
from traces.record import LayerRecord
from traces.workloads import Workload



@dataclass(frozen=True)
class TrainerConfig:
    """Settings of one training run (batch/timesteps default to the workload's)."""

    batch: int
    timesteps: int
    lr: float | None = None    # None: DEFAULT_LR of the loss
    momentum: float = 0.9
    loss: str = "mse"
    seed: int = 0
    pool_images: int = 2048    # distinct images rendered; batches cycle through them
    init_gain: float = 2.0
    # Firing rate every weighted layer is calibrated to at init (0 = no calibration):
    # rates of 0.1-0.2 are what rate-coded STBP networks typically show.
    init_rate: float = 0.15

    def __post_init__(self) -> None:
        if self.batch < 1 or self.timesteps < 1:
            raise ValueError(f"batch and timesteps must be >= 1, got {self.batch}, {self.timesteps}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}, expected one of {', '.join(LOSSES)}")
        if self.lr is None:
            object.__setattr__(self, "lr", DEFAULT_LR[self.loss])
        if not 0 <= self.init_rate < 1:
            raise ValueError(f"init_rate must be in [0, 1), got {self.init_rate}")
        if self.lr <= 0 or not 0 <= self.momentum < 1:
            raise ValueError(f"need lr > 0 and 0 <= momentum < 1, got {self.lr}, {self.momentum}")


@dataclass(frozen=True)
class HistoryPoint:
    iteration: int
    loss: float
    accuracy: float   # on the training batch of that iteration, before its update


@dataclass
class RecordedIteration:
    iteration: int
    loss: float
    accuracy: float
    layers: dict[str, LayerRecord]
    labels: np.ndarray   # int64 [B], the batch's classes (to recompute the loss)


class _Digits:
    """Inputs the project renders itself: a seeded pool of digit images, spike-coded per batch."""

    def __init__(self, workload: Workload, images: np.ndarray, labels: np.ndarray) -> None:
        self.workload, self.images, self.labels = workload, images, labels

    def spikes(self, take: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        return encode_batch(self.workload, self.images[take], timesteps, rng)


class _Recorded:
    """Inputs from a downloaded event dataset: its recordings framed by tonic's transforms."""

    def __init__(self, workload: Workload, recordings: Recordings) -> None:
        recordings.check_input(tuple(workload.input_shape))
        classes = workload.network.layers[-1].out_neurons
        if recordings.dataset.classes > classes:
            raise ValueError(f"{recordings.dataset.folder} has {recordings.dataset.classes} "
                             f"classes; the network's last layer has only {classes} outputs")
        self.input_shape = tuple(workload.input_shape)
        self.recordings, self.labels = recordings, recordings.labels

    def spikes(self, take: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        return self.recordings.spikes(take, timesteps, self.input_shape)  # no randomness


@dataclass
class _Batches:
    """Sample indices into the inputs' pool, visited in reshuffled epochs."""

    size: int
    rng: np.random.Generator
    order: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def next(self, batch: int) -> np.ndarray:
        while self.order.size < batch:
            self.order = np.concatenate([self.order, self.rng.permutation(self.size)])
        take, self.order = self.order[:batch], self.order[batch:]
        return take


class TrainingRun:
    """BPTT training of a workload; iterate it to get the recorded iterations.

    ``history`` grows by one HistoryPoint per iteration as the run advances;
    ``weights`` are the current weights.
    """

    def __init__(self, workload: Workload, config: TrainerConfig, iterations: int,
                 record: Iterable[int] = (),
                 progress: Callable[[int, float, float], None] | None = None,
                 recordings: Recordings | None = None) -> None:
        self.workload, self.config, self.iterations = workload, config, iterations
        self.network = workload.network
        self.record = frozenset(int(i) for i in record)
        self.progress = progress
        self.history: list[HistoryPoint] = []
        rng = np.random.default_rng(config.seed)
        self.weights = init_weights(self.network, workload.neuron, rng, np.float32, config.init_gain)
        self._code_rng = np.random.default_rng([config.seed, 1])
        self._inputs = (_Recorded(workload, recordings) if recordings is not None
                        else self._render_pool(iterations))
        self._batches = _Batches(self._inputs.labels.size, np.random.default_rng([config.seed, 2]))
        if config.init_rate > 0:
            self._calibrate(config.init_rate)
        self._velocity = {name: np.zeros_like(w) for name, w in self.weights.items()}

    def _calibrate(self, target_rate: float) -> None:
        """Scale the initial weights on one batch coded from its own random stream."""
        coded = self._inputs.spikes(self._calibration_take(), self.config.timesteps,
                                    np.random.default_rng([self.config.seed, 3]))
        self.weights = calibrate_weights(self.network, self.weights, coded,
                                         self.workload.neuron, target_rate)

    def _calibration_take(self) -> np.ndarray:
        """The pool's first batch; recordings (sorted by class) spread over all of it."""
        size = self._inputs.labels.size
        if isinstance(self._inputs, _Digits):   # rendered in random class order already
            return np.arange(min(self.config.batch, size))
        return np.linspace(0, size - 1, self.config.batch).round().astype(np.int64)

    def _render_pool(self, iterations: int) -> _Digits:
        height, width = image_size(self.workload.input_shape, self.workload.input_kind)
        classes = self.network.layers[-1].out_neurons  # classes past the 11 glyphs never occur
        pool = max(1, min(self.config.pool_images, self.config.batch * iterations))
        images, labels = make_images(pool, height, width, self.config.seed, min(classes, 11))
        return _Digits(self.workload, images, labels)

    def step(self, iteration: int) -> RecordedIteration | None:
        """One forward/backward/update; returns its record if the iteration is chosen."""
        take = self._batches.next(self.config.batch)
        labels = self._inputs.labels[take]
        spikes_in = self._inputs.spikes(take, self.config.timesteps, self._code_rng)
        neuron = self.workload.neuron
        state = forward(self.network, self.weights, spikes_in, neuron)
        out = state.layers[-1].spikes
        loss, dloss = loss_and_grad(out, labels, self.config.loss)
        grads = backward(self.network, self.weights, state, dloss, neuron)
        acc = accuracy(out, labels)
        self._update(grads.weights)
        self.history.append(HistoryPoint(iteration, loss, acc))
        if self.progress is not None:
            self.progress(iteration, loss, acc)
        if iteration not in self.record:
            return None
        return RecordedIteration(iteration, loss, acc,
                                 layer_records(self.network, state, grads, neuron), labels)

    def evaluate(self, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
        """Accuracy of the current weights on other images (e.g. a held-out set)."""
        coded = encode_batch(self.workload, images, self.config.timesteps,
                             np.random.default_rng(seed))
        state = forward(self.network, self.weights, coded, self.workload.neuron)
        return accuracy(state.layers[-1].spikes, labels)

    def _update(self, grads: Weights) -> None:
        """SGD with momentum: v = mu·v + g; W -= lr·v."""
        for name, grad in grads.items():
            velocity = self._velocity[name]
            velocity *= self.config.momentum
            velocity += grad
            self.weights[name] -= self.config.lr * velocity

    def __iter__(self) -> Iterator[RecordedIteration]:
        for iteration in range(len(self.history), self.iterations):
            recorded = self.step(iteration)
            if recorded is not None:
                yield recorded


def train(workload: Workload, *, batch: int | None = None, timesteps: int | None = None,
          iterations: int, record: Iterable[int] = (), lr: float | None = None,
          momentum: float = TrainerConfig.momentum, seed: int = 0, loss: str = "mse",
          progress: Callable[[int, float, float], None] | None = None,
          recordings: Recordings | None = None) -> TrainingRun:
    """Train ``workload`` for ``iterations`` steps; iterate the result for recorded iterations.

    ``record`` lists the iteration indices (0-based) whose tensors are recorded;
    the returned TrainingRun yields them as they happen and keeps ``history``.
    ``lr`` defaults to DEFAULT_LR of the loss, tuned on the tiny workloads; deep
    networks (e.g. cifar10-cifarnet) need a smaller one (~0.01) not to diverge.
    ``recordings`` (``traces.events.find_recordings``) replaces the rendered digits
    with a downloaded event dataset, framed to the workload's input shape and T.
    """
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    config = TrainerConfig(batch=batch or workload.batch, timesteps=timesteps or workload.timesteps,
                           lr=lr, momentum=momentum, loss=loss, seed=seed)
    return TrainingRun(workload, config, iterations, record, progress, recordings)
