"""One recipe, one trace: the same content hash whatever BLAS kernel, thread count or SIMD level.

Each build runs in a fresh interpreter, because OpenBLAS and numpy read these
variables once, when they load. ``OPENBLAS_CORETYPE=Prescott`` forces the
oldest SSE3 kernels (other blocking, no FMA); ``NPY_DISABLE_CPU_FEATURES``
turns numpy's dispatched AVX2/FMA loops off (its unsupported names are
ignored with a warning, so the test runs on any x86 or ARM machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from traces.fixedpoint import FixedPoint, check_exact, quantize
from traces.identity import content_sha256
from traces.recipes import Recipe, ensure_trace, read_provenance
from traces.network import LayerSpec

# small enough for the suite (a few seconds a build), deep enough that the old
# float trainer diverged across kernels: conv, pooling and fc sums, trained weights
BUILD = """
import sys
from traces.identity import content_sha256
from traces.recipes import Recipe, make_trace
recipe = Recipe("mnist-cnn", train_batch=4, train_iterations=4, lr=0.05, batch=6, timesteps=5)
make_trace(recipe, sys.argv[1])
print(content_sha256(sys.argv[1]))
"""

ENVIRONMENTS = {
    "defaults": {},
    "prescott-1-thread": {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "1"},
    "2-threads": {"OPENBLAS_NUM_THREADS": "2"},
    "numpy-baseline-simd": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 AVX2 FMA3 AVX512F ASIMDHP"},
}


def _build(tmp_path: Path, name: str, extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENBLAS_", "NPY_", "OMP_"))}   # the defaults, then the extras
    env.update(extra)
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", BUILD, str(tmp_path / f"{name}.h5")], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()[-1]


def test_a_recipe_gives_the_same_trace_under_every_blas_and_simd_setting(tmp_path):
    hashes = {name: _build(tmp_path, name, extra) for name, extra in ENVIRONMENTS.items()}
    assert len(set(hashes.values())) == 1, hashes


def test_quantize_keeps_the_largest_value_and_every_non_zero():
    x = np.array([0.75, -3e-9, 0.0, 0.2, -0.7501], dtype=np.float32)
    q = quantize(x, 8, keep_nonzero=True)
    step = 2.0 ** (0 - 7)                          # max|x| < 2^0, 8 signed bits
    assert np.all(q / step == np.rint(q / step))   # on the grid
    rounded = np.arange(x.size) != 1               # x[1] is below half a step: floored
    assert np.abs(q - x)[rounded].max() <= step / 2 + 1e-12
    assert np.array_equal(q != 0, x != 0) and q[1] == -step
    assert quantize(x, 8)[1] == 0                  # without the floor, it rounds to zero


def test_grid_operands_make_float_sums_order_independent():
    rng = np.random.default_rng(0)
    w = quantize(rng.normal(size=4096), 16)
    spikes = rng.random(4096) < 0.5
    terms = w[spikes]
    forward_sum, reverse_sum = terms.sum(), terms[::-1].cumsum()[-1]
    assert forward_sum == reverse_sum                   # exact: any order, the same bits
    raw = rng.normal(size=4096)[spikes]
    assert raw.sum() != raw[::-1].cumsum()[-1]          # unquantized floats do depend on order


def test_a_layer_whose_sums_could_overflow_the_exact_range_is_refused():
    spec = LayerSpec("fc1", "fc", (4096,), (512,))
    check_exact(spec, 1000, FixedPoint())
    with pytest.raises(ValueError, match="fc1: dW"):
        check_exact(spec, 2 ** 40, FixedPoint())
    with pytest.raises(ValueError, match="fc1: do"):
        check_exact(spec, 10, FixedPoint(weight_bits=30, du_bits=30))


def test_the_sidecar_records_the_content_hash_of_its_trace(tmp_path):
    path = ensure_trace(Recipe("tiny-cnn", train_batch=2, train_iterations=1, batch=2,
                               timesteps=2), tmp_path)
    assert read_provenance(path)["content_sha256"] == content_sha256(path)
