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
