"""Optional-extra imports for the capture tests: skip, or fail where CI requires the extra.

``.ci/run`` sets H2LEARN_REQUIRE_CAPTURE=1, under which a missing torch,
snntorch, spikingjelly, nir or tonic fails the test instead of skipping it.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def need(module: str) -> ModuleType:
    """Import ``module``; skip the test when it is missing, or fail if CI requires it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if os.environ.get("H2LEARN_REQUIRE_CAPTURE") == "1":
            pytest.fail(f"H2LEARN_REQUIRE_CAPTURE=1 but {module} cannot be imported: {exc}")
        pytest.skip(f"{module} is not installed (pip install -e '.[capture]')")


# --- small on-disk copies of tonic datasets (nothing can be downloaded in tests) ---------

def random_events(rng, dtype, sensor_size: tuple[int, int, int], count: int,
                  duration_us: int = 300_000):
    """Random events, time-sorted, in a tonic structured dtype (x, y, t µs, p)."""
    import numpy as np

    events = np.zeros(count, dtype=dtype)
    events["x"] = rng.integers(0, sensor_size[0], count)
    events["y"] = rng.integers(0, sensor_size[1], count)
    events["p"] = rng.integers(0, sensor_size[2], count)
    events["t"] = np.sort(rng.integers(0, duration_us, count))
    return events


def nmnist_bytes(events) -> bytes:
    """Events in N-MNIST's file format: 5 bytes each, x, y, p·2⁷ | t[22:16], t[15:8], t[7:0]."""
    import numpy as np

    t = events["t"].astype(np.int64)
    assert t.max(initial=0) < 1 << 23, "N-MNIST's 23-bit timestamps (no overflow events here)"
    raw = np.stack([events["x"], events["y"], (events["p"].astype(np.int64) << 7) | (t >> 16),
                    (t >> 8) & 255, t & 255], axis=1)
    return raw.astype(np.uint8).tobytes()


def write_nmnist_copy(save_to, per_class: int = 2, events: int = 300, seed: int = 0):
    """A tonic N-MNIST copy: save_to/NMNIST/Train/<digit>/<id>.bin; returns the events written."""
    import numpy as np
    from pathlib import Path
    from tonic.datasets import NMNIST

    rng = np.random.default_rng(seed)
    written = {}
    for digit in range(10):
        folder = Path(save_to, "NMNIST", "Train", str(digit))
        folder.mkdir(parents=True)
        for i in range(per_class):
            ev = random_events(rng, NMNIST.dtype, NMNIST.sensor_size, events)
            path = folder / f"{digit * 1000 + i:05d}.bin"
            path.write_bytes(nmnist_bytes(ev))
            written[path] = ev
    return written


def write_dvsgesture_copy(save_to, per_class: int = 1, events: int = 2000, seed: int = 0):
    """A tonic DVS-Gesture copy: save_to/DVSGesture/ibmGestureTrain/user<NN>_<light>/<class>.npy.

    Each file is tonic's preprocessed [N, 4] array x, y, p, t in ms.
    """
    import numpy as np
    from pathlib import Path
    from tonic.datasets import DVSGesture

    rng = np.random.default_rng(seed)
    for user in range(1, per_class + 1):
        folder = Path(save_to, "DVSGesture", "ibmGestureTrain", f"user{user:02d}_fluorescent")
        folder.mkdir(parents=True)
        for label in range(11):
            ev = random_events(rng, DVSGesture.dtype, DVSGesture.sensor_size, events)
            raw = np.stack([ev["x"], ev["y"], ev["p"], ev["t"] // 1000], axis=1).astype(np.int64)
            np.save(folder / f"{label}.npy", raw)
