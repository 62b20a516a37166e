"""Fixed-point operands: why the trainer gives the same bits on every machine.

A float sum's rounding depends on the order of its terms, and a BLAS library
picks that order by CPU kernel and thread count; LIF thresholds then turn a
last-bit difference into a different spike, and the traces diverge. The
trainer therefore hands its synaptic sums (x = W·o, do = Wᵀ·du, dW = Σ du ⊗ o)
only operands on a fixed-point grid, as the hardware keeps them: a signed
integer times one power of two per tensor. Every product and every partial sum
is then an integer multiple of the grid step below 2^53, which float64
represents exactly — so the sum is exact, whatever order or kernel computes it
(FMA included). ``check_exact`` proves the bound per layer before any sum.

Everything else the trainer computes is elementwise (LIF recursion, loss
gradient, SGD update) and IEEE 754 rounds each such operation correctly, so it
is the same everywhere too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from traces.network import LayerSpec

EXACT_FLOAT64 = 2 ** 53   # float64 holds every integer below this exactly


@dataclass(frozen=True)
class FixedPoint:
    """Signed bit widths of the engines' operands (sign bit included)."""

    # the accelerator stores 16-bit weights
    weight_bits: int = 16
    # du keeps 20 bits so that small gradients survive next to the largest of a
    # tensor; 16-bit weights × 20-bit du × up to 2^17 terms stays below 2^53
    du_bits: int = 20

    def weights(self, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every weight tensor on its grid (float64 values)."""
        return {name: quantize(w, self.weight_bits) for name, w in weights.items()}

    def du(self, du: np.ndarray) -> np.ndarray:
        """du on its grid; a non-zero du stays non-zero (at least one step), as its mask says."""
        return quantize(du, self.du_bits, keep_nonzero=True)


FIXED_POINT = FixedPoint()


def quantize(x: np.ndarray, bits: int, keep_nonzero: bool = False) -> np.ndarray:
    """x rounded to k · 2^e with |k| < 2^(bits-1), e fixed by max|x| (float64 result).

    The step is the largest power of two that keeps max|x| in range, so the
    tensor loses no more than it must. Scaling by a power of two is exact and
    rint is elementwise: the result is the same on every machine.
    """
    values = np.array(x, dtype=np.float64)          # one copy, then in place (memory)
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if peak == 0.0 or not math.isfinite(peak):
        return values
    _, exponent = math.frexp(peak)                  # peak < 2^exponent
    step = math.ldexp(1.0, exponent - (bits - 1))
    limit = 2.0 ** (bits - 1) - 1
    values *= 1.0 / step                            # a power of two: exact
    np.rint(values, out=values)
    np.clip(values, -limit, limit, out=values)
    if keep_nonzero:
        lost = (values == 0) & (np.asarray(x) != 0)
        values[lost] = np.sign(np.asarray(x)[lost])
    values *= step
    return values


def check_exact(spec: LayerSpec, points: int, fixed: FixedPoint) -> None:
    """Raise ValueError when a sum of this layer could reach 2^53 grid steps.

    ``points`` is T × batch. Worst cases: x sums fan_in weights (spikes are 0/1);
    do sums out_channels × K² weight·du products; dW sums du over every output
    point (an input spike of 1 each).
    """
    if not spec.has_weights:
        return
    w_max, du_max = 2 ** (fixed.weight_bits - 1), 2 ** (fixed.du_bits - 1)
    out_points = points * (math.prod(spec.out_shape[1:]) if spec.kind == "conv" else 1)
    window = spec.kernel ** 2 if spec.kind == "conv" else 1
    bounds = {"x = W·o": w_max * spec.fan_in,
              "do = Wᵀ·du": w_max * du_max * spec.out_shape[0] * window,
              "dW = Σ du·o": du_max * out_points}
    for what, bound in bounds.items():
        if bound >= EXACT_FLOAT64:
            raise ValueError(f"layer {spec.name}: {what} may reach {bound:.3g} grid steps, "
                             f"beyond exact float64 (2^53); use fewer bits or a smaller batch")
