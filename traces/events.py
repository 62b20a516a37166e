"""Real event-camera data through tonic: N-MNIST and DVS-Gesture as binary spike tensors.

tonic (https://tonic.readthedocs.io) reads the datasets' own files into event
arrays of a structured dtype with fields x, y, t, p; its ``ToFrame`` transform
bins them into ``n_time_bins`` frames [T, P, H, W] of event counts (and
``Downsample`` shrinks the sensor). A timestep's input spike is "at least one
event in that bin", as usual for SNNs trained on frames of events. Nothing is
downloaded here: ``load_batch`` reads a copy already under ``data_dir``
(tonic's ``save_to``) and fails with one line when it is not there.
Needs tonic and numpy, not torch.
"""

from __future__ import annotations

from pathlib import Path
import numpy as np

# name -> (tonic class, sensor size x, y, p as tonic gives it, classes)
DATASETS: dict[str, tuple[str, tuple[int, int, int], int]] = {
    "nmnist": ("NMNIST", (34, 34, 2), 10),
    "dvsgesture": ("DVSGesture", (128, 128, 2), 11),
}


class EventDataError(ValueError):
    """A dataset name, directory or event array that cannot be turned into spikes."""


def events_to_spikes(events: np.ndarray, sensor_size: tuple[int, int, int], timesteps: int,
                     downsample: int = 1) -> np.ndarray:
    """One recording's events -> bool spikes [T, P, H, W] through tonic's transforms."""
    import tonic.transforms as tt

    if events.dtype.names is None or not {"x", "y", "t", "p"} <= set(events.dtype.names):
        raise EventDataError(f"events: expected a structured array with fields x, y, t, p, "
                             f"found dtype {events.dtype}")
    size = sensor_size
    if downsample > 1:
        factor = 1.0 / downsample
        events = tt.Downsample(spatial_factor=factor)(events)
        size = (sensor_size[0] // downsample, sensor_size[1] // downsample, sensor_size[2])
    frames = tt.ToFrame(sensor_size=size, n_time_bins=timesteps)(events)   # [T, P, H, W] counts
    return np.asarray(frames) > 0


def load_batch(name: str, data_dir: str | Path, batch: int, timesteps: int, *, start: int = 0,
               downsample: int = 1, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` recordings from a downloaded copy -> (bool [T, B, P, H, W], int64 labels [B])."""
    import tonic.datasets

    if name not in DATASETS:
        raise EventDataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    cls_name, sensor, _ = DATASETS[name]
    if not Path(data_dir).is_dir():
        raise EventDataError(f"{data_dir}: no such directory (download {cls_name} with tonic first)")
    try:
        dataset = getattr(tonic.datasets, cls_name)(save_to=str(data_dir), train=train)
    except Exception as exc:   # tonic raises many kinds for a missing or partial copy
        raise EventDataError(f"{data_dir}: cannot read {cls_name}: {exc}") from None
    samples = [dataset[(start + i) % len(dataset)] for i in range(batch)]
    spikes = np.stack([events_to_spikes(ev, sensor, timesteps, downsample) for ev, _ in samples],
                      axis=1)
    return spikes, np.asarray([int(label) for _, label in samples], dtype=np.int64)


def synthetic_events(rng: np.random.Generator, sensor_size: tuple[int, int, int], count: int,
                     duration_us: int = 100_000) -> np.ndarray:
    """Random events in tonic's N-MNIST dtype (for tests: nothing can be downloaded there)."""
    from tonic.datasets import NMNIST

    events = np.zeros(count, dtype=NMNIST.dtype)
    events["x"] = rng.integers(0, sensor_size[0], count)
    events["y"] = rng.integers(0, sensor_size[1], count)
    events["p"] = rng.integers(0, sensor_size[2], count)
    events["t"] = np.sort(rng.integers(0, duration_us, count))
    return events

