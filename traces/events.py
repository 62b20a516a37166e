"""Real event-camera data through tonic: N-MNIST and DVS-Gesture recordings as binary spikes.

tonic (https://tonic.readthedocs.io) reads the datasets' own files into event
arrays of a structured dtype with fields x, y, t (µs), p; its ``Downsample``
transform scales the sensor to the network's input size and ``ToFrame`` bins
the events into ``n_time_bins`` frames [T, P, H, W] of event counts. A
timestep's input spike is "at least one event in that bin", as usual for SNNs
trained on frames of events.

``find_recordings(DIR)`` takes tonic's ``save_to`` folder of a downloaded copy
and lists the recordings exactly as tonic's ``NMNIST`` and ``DVSGesture``
classes do (the same folders, the same labels, in sorted order). It does not
instantiate those classes: they check for the downloaded archive and a full
file count (10,000 ``.bin`` files, 100 ``.npy``) and start a download when
either is missing, which is no use offline or on a subset. The files are read
with tonic's own code instead: ``tonic.io.read_mnist_file`` for N-MNIST, and
for DVS-Gesture the conversion of ``DVSGesture.__getitem__`` (an ``[N, 4]``
array x, y, p, t in ms, times 1000 to µs, into tonic's dtype).
Nothing is downloaded here. Needs tonic and numpy, not torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from traces.datasets import image_size


class EventDataError(ValueError):
    """A dataset directory, file or event array that cannot be turned into spikes."""


@dataclass(frozen=True)
class EventDataset:
    """One tonic dataset's on-disk layout under ``save_to``."""

    key: str              # the --dataset name
    title: str            # written into the trace's dataset attribute
    folder: str           # tonic's class name: the folder under save_to
    splits: tuple[str, str]   # train and test folders
    suffix: str
    sensor: tuple[int, int, int]   # x, y, polarities, as tonic gives them
    classes: int
    pattern: str          # where a recording lies, for error messages


DATASETS: dict[str, EventDataset] = {d.key: d for d in (
    EventDataset("nmnist", "n-mnist (tonic)", "NMNIST", ("Train", "Test"), ".bin", (34, 34, 2),
                 10, "NMNIST/Train/<digit>/*.bin"),
    EventDataset("dvsgesture", "dvs-gesture (tonic)", "DVSGesture",
                 ("ibmGestureTrain", "ibmGestureTest"), ".npy", (128, 128, 2), 11,
                 "DVSGesture/ibmGestureTrain/user<NN>_<lighting>/<class>.npy"),
)}


@dataclass(frozen=True)
class Recordings:
    """The recordings of one downloaded dataset split, in tonic's order."""

    dataset: EventDataset
    files: tuple[Path, ...]
    labels: np.ndarray    # int64 [N]

    def __len__(self) -> int:
        return len(self.files)

    def events(self, index: int) -> np.ndarray:
        """Recording ``index`` as tonic's structured events, checked against the sensor."""
        path = self.files[index]
        events = _read_nmnist(path) if self.dataset.key == "nmnist" else _read_dvsgesture(path)
        for field, size in zip("xyp", self.dataset.sensor):
            values = events[field].astype(np.int64)
            if values.size and (values.min() < 0 or values.max() >= size):
                raise EventDataError(f"{path}: event {field} = {values.max()} outside the "
                                     f"{self.dataset.folder} sensor (0..{size - 1})")
        return events

    def check_input(self, input_shape: tuple[int, ...]) -> None:
        """Raise EventDataError unless the recordings can be framed to ``input_shape``."""
        _frame_size(self.dataset, input_shape)

    def spikes(self, indices: np.ndarray, timesteps: int,
               input_shape: tuple[int, ...]) -> np.ndarray:
        """Recordings ``indices`` -> bool [T, B, *input_shape] through tonic's transforms."""
        height, width = _frame_size(self.dataset, input_shape)
        frames = [events_to_spikes(self.events(int(i)), self.dataset.sensor, timesteps,
                                   (width, height)) for i in indices]
        return np.stack(frames, axis=1).reshape((timesteps, len(frames)) + tuple(input_shape))


def _frame_size(dataset: EventDataset, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """The (H, W) frames of ``dataset`` that fill ``input_shape`` (2 polarity channels)."""
    polarities = dataset.sensor[2]
    shape = tuple(input_shape)
    if (len(shape) == 3 and shape[0] != polarities) or len(shape) not in (1, 3):
        raise EventDataError(f"{dataset.folder} recordings have {polarities} polarity "
                             f"channels; the network's input {shape} is neither "
                             f"({polarities}, H, W) nor a flat ({polarities}·H·W,)")
    try:
        height, width = image_size(shape, "events")
    except ValueError as exc:
        raise EventDataError(str(exc)) from None
    if width > dataset.sensor[0] or height > dataset.sensor[1]:
        raise EventDataError(f"the network's input {height}×{width} is larger than the "
                             f"{dataset.folder} sensor {dataset.sensor[1]}×{dataset.sensor[0]}")
    return height, width


def events_to_spikes(events: np.ndarray, sensor_size: tuple[int, int, int], timesteps: int,
                     target_size: tuple[int, int] | None = None) -> np.ndarray:
    """One recording's events -> bool spikes [T, P, H, W] through tonic's transforms.

    ``target_size`` (W, H) scales the sensor down with tonic's ``Downsample``.
    """
    import tonic.transforms as tt

    if events.dtype.names is None or not {"x", "y", "t", "p"} <= set(events.dtype.names):
        raise EventDataError(f"events: expected a structured array with fields x, y, t, p, "
                             f"found dtype {events.dtype}")
    size = sensor_size
    if target_size is not None and tuple(target_size) != tuple(sensor_size[:2]):
        events = tt.Downsample(sensor_size=sensor_size, target_size=target_size)(events)
        size = (target_size[0], target_size[1], sensor_size[2])
    if events.size == 0:   # tonic's time binning needs a first and a last event
        return np.zeros((timesteps, size[2], size[1], size[0]), dtype=bool)
    frames = tt.ToFrame(sensor_size=size, n_time_bins=timesteps)(events)   # [T, P, H, W] counts
    return np.asarray(frames) > 0


def _read_nmnist(path: Path) -> np.ndarray:
    """An N-MNIST .bin (5 bytes an event) through tonic's own reader."""
    from tonic.datasets import NMNIST
    from tonic.io import read_mnist_file

    size = path.stat().st_size
    if size % 5:
        raise EventDataError(f"{path}: {size} bytes, not an N-MNIST recording (5 bytes an event)")
    return read_mnist_file(str(path), dtype=NMNIST.dtype)


def _read_dvsgesture(path: Path) -> np.ndarray:
    """A DVS-Gesture .npy as tonic's DVSGesture.__getitem__ reads it."""
    from numpy.lib import recfunctions
    from tonic.datasets import DVSGesture

    try:
        raw = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EventDataError(f"{path}: not a numpy .npy file: {exc}") from None
    if raw.ndim != 2 or raw.shape[1] != 4 or raw.dtype.kind not in "iuf":
        raise EventDataError(f"{path}: expected a numeric [N, 4] array (x, y, p, t in ms) as "
                             f"tonic's DVSGesture, found {raw.dtype} {raw.shape}")
    raw = raw.copy()
    raw[:, 3] *= 1000   # ms -> µs, as tonic does
    return recfunctions.unstructured_to_structured(raw, DVSGesture.dtype)


def _label(dataset: EventDataset, path: Path) -> int:
    """The class of a recording where tonic reads it: N-MNIST's folder, DVS-Gesture's file name."""
    text = path.parent.name if dataset.key == "nmnist" else path.stem
    if not text.isdigit() or int(text) >= dataset.classes:
        raise EventDataError(f"{path}: no class 0..{dataset.classes - 1} in its "
                             f"{'folder' if dataset.key == 'nmnist' else 'file'} name "
                             f"(expected {dataset.pattern})")
    return int(text)


def _listing(dataset: EventDataset, root: Path, train: bool) -> list[Path]:
    """The recordings of a split, in sorted order (tonic walks sorted N-MNIST folders too)."""
    split = root / dataset.splits[0 if train else 1]
    depth = "*/*" + dataset.suffix
    return sorted(p for p in split.glob(depth) if p.is_file())


def _dataset_root(data_dir: Path, name: str | None) -> tuple[EventDataset, Path]:
    """Which dataset ``data_dir`` holds: tonic's save_to, or the dataset folder itself."""
    candidates = [DATASETS[name]] if name else list(DATASETS.values())
    found = [(d, data_dir / d.folder) for d in candidates if (data_dir / d.folder).is_dir()]
    found += [(d, data_dir) for d in candidates if data_dir.name == d.folder]
    if len(found) > 1:
        raise EventDataError(f"{data_dir}: holds {' and '.join(d.folder for d, _ in found)}; "
                             "choose one with --dataset")
    if not found:
        wanted = " or ".join(f"{d.folder}/ ({d.pattern})" for d in candidates)
        raise EventDataError(f"{data_dir}: no {wanted}; expected tonic's save_to folder of a "
                             "downloaded copy")
    return found[0]


def find_recordings(data_dir: str | Path, name: str | None = None,
                    train: bool = True) -> Recordings:
    """The recordings of a downloaded tonic N-MNIST or DVS-Gesture copy under ``data_dir``."""
    if name is not None and name not in DATASETS:
        raise EventDataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise EventDataError(f"{data_dir}: no such directory (download the dataset with tonic "
                             "first: its save_to folder)")
    dataset, root = _dataset_root(data_dir, name)
    files = _listing(dataset, root, train)
    if not files:
        raise EventDataError(f"{root}: no recordings (expected {dataset.pattern})")
    labels = np.asarray([_label(dataset, p) for p in files], dtype=np.int64)
    return Recordings(dataset, tuple(files), labels)
