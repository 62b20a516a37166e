"""The embedded sample trace: a real BPTT trace that ships inside the package.

``traces/data/sample.h5`` holds two iterations of the ``tiny-cnn`` workload
recorded by the numpy trainer late in a short training run (made by
``python -m traces.make_sample``), so ``h2learn run`` and the tests have a
genuine trace to replay without generating one.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

SAMPLE_RESOURCE = "data/sample.h5"


def sample_trace_path() -> Path:
    """Filesystem path of the embedded sample trace."""
    resource = importlib.resources.files("traces").joinpath(SAMPLE_RESOURCE)
    return Path(str(resource))
