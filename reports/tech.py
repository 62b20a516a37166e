"""Technology tables: energy per action and area per component, by process node.

Accelergy-style pricing needs, for each action the simulator counts, an energy
in picojoules, and for each hardware component an area in mm². This module is
that table, as data plus a few small functions; ``reports.energy`` and
``reports.area`` only multiply.

Where the numbers come from (docs/energy-area-gpu.md has the full tables):

* **Arithmetic** — Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm,
  0.9 V: energy per add/multiply and area per unit (the
  same keynote's table as reproduced in Dally's talks and Sze et al., Proc.
  IEEE 2017). Other bit widths are interpolated in log-log between the 8, 16
  and 32-bit points. 28 nm energy is the 45 nm value × 0.45 (the
  ~0.4–0.5× commonly taken for 45 → 28 nm logic); 28 nm area is × (28/45)² (ideal scaling).
* **SRAM** — CACTI 7, 32 nm, 64-bit word, one port. Read energy
  per access is a fitted curve of capacity: a minimax log-log quadratic, i.e.
  a power law whose local exponent drifts with size (0.79 at 4 KiB, 0.53 at
  64 KiB, 0.27 at 1 MiB; worst point 12% off). A plain power law fits
  ~size^0.55 but misses the 4 KiB and 64 KiB points by 25%. Outside the
  fitted range it extrapolates along its tangent (a power law), so it stays
  monotone. Area is a plain power law (~size^0.98).
  Node scaling uses CACTI's "22 nm is about half the 32 nm energy and area",
  i.e. (node/32)^1.85, which puts 28 nm at 0.78× and 45 nm at 1.88× of 32 nm.
* **Registers** — NanGate FreePDK45 Open Cell Library, DFF_X1 = 4.522 µm² per
  bit at 45 nm.
* **Leakage** — a power density per mm² of die, an assumption (documented at
  the constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

TECH_NODES_NM: dict[str, int] = {"28nm": 28, "45nm": 45}

# --- Horowitz ISSCC 2014, 45 nm, 0.9 V (Table 1 of the keynote). Keys: operand bits.
HOROWITZ_45NM_INT_ADD_PJ: dict[int, float] = {8: 0.03, 16: 0.05, 32: 0.1}
HOROWITZ_45NM_INT_MULT_PJ: dict[int, float] = {8: 0.2, 16: 1.0, 32: 3.1}
HOROWITZ_45NM_FP_ADD_PJ: dict[str, float] = {"fp16": 0.4, "fp32": 0.9}
HOROWITZ_45NM_FP_MULT_PJ: dict[str, float] = {"fp16": 1.1, "fp32": 3.7}
# Area, same keynote table (as reproduced by Dally and Sze et al.). The int16
# multiplier is not in the table: log-log interpolation gives sqrt(282*3495).
HOROWITZ_45NM_INT_ADD_UM2: dict[int, float] = {8: 36.0, 16: 67.0, 32: 137.0}
HOROWITZ_45NM_INT_MULT_UM2: dict[int, float] = {8: 282.0, 32: 3495.0}

# NanGate FreePDK45 Open Cell Library: DFF_X1 cell area (one flip-flop = one bit).
DFF_45NM_UM2_PER_BIT = 4.522

# 45 nm -> 28 nm logic energy factor: midpoint of the ~0.4–0.5× commonly taken.
LOGIC_ENERGY_SCALE_28NM = 0.45
# Logic area scales with the square of the feature size (ideal Dennard area scaling).
LOGIC_AREA_SCALE_28NM = (28 / 45) ** 2

# --- CACTI 7, 32 nm, 64-bit word, one port, scratchpad (CACTI 7: Balasubramonian et al., ACM TACO 2017).
CACTI_32NM_WORD_BITS = 64
CACTI_32NM_SIZES_BYTES: tuple[int, ...] = (4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20)
CACTI_32NM_READ_PJ: tuple[float, ...] = (1.6, 5.5, 12.0, 19.0, 38.0)
CACTI_32NM_AREA_MM2: tuple[float, ...] = (0.007, 0.026, 0.106, 0.44, 1.6)
CACTI_NODE_NM = 32
# CACTI rule of thumb: "22 nm is about half the 32 nm energy and area" -> exponent of
# a power law in feature size: 0.5 = (22/32)^a.
SRAM_NODE_EXPONENT = math.log(0.5) / math.log(22 / 32)

# Assumption: a write costs 1.2x a read of the same word. Reads sense a small
# bitline swing; writes drive the bitlines full swing. CACTI reports write
# energy close to read energy for small scratchpads; 1.2 leans conservative.
SRAM_WRITE_OVER_READ = 1.2
# Assumption: 25% of a 64-bit access's energy (row decode, wordline, control)
# does not depend on the word width; the rest scales with the bits accessed.
SRAM_WIDTH_FIXED_SHARE = 0.25

# Assumption: leakage power per mm² of die. Planar nodes leak roughly the same
# per transistor while density rises ~2.6x from 45 to 28 nm; 28 nm HPM/HPL
# libraries claw part of that back. 20-30 mW/mm² is the order of magnitude of
# published leakage for SRAM-heavy accelerator dies in these nodes.
LEAKAGE_W_PER_MM2: dict[str, float] = {"45nm": 0.02, "28nm": 0.03}


def check_tech(tech: str) -> None:
    if tech not in TECH_NODES_NM:
        raise ValueError(f"tech {tech!r}: expected one of {', '.join(TECH_NODES_NM)}")


# ----------------------------------------------------------------- arithmetic
def _loglog_interp(table: Mapping[int, float], bits: int) -> float:
    """Piecewise power-law interpolation; extrapolates along the end segments."""
    if bits < 1:
        raise ValueError(f"bit width {bits}: expected >= 1")
    xs = sorted(table)
    if bits in table:
        return table[bits]
    lo, hi = (xs[0], xs[1]) if bits < xs[0] else (xs[-2], xs[-1])
    for a, b in zip(xs, xs[1:]):
        if a < bits < b:
            lo, hi = a, b
    slope = math.log(table[hi] / table[lo]) / math.log(hi / lo)
    return table[lo] * (bits / lo) ** slope


def logic_energy_scale(tech: str) -> float:
    """Factor applied to Horowitz's 45 nm energies."""
    check_tech(tech)
    return 1.0 if tech == "45nm" else LOGIC_ENERGY_SCALE_28NM


def logic_area_scale(tech: str) -> float:
    """Factor applied to 45 nm logic areas."""
    check_tech(tech)
    return 1.0 if tech == "45nm" else LOGIC_AREA_SCALE_28NM


def int_add_pj(bits: int, tech: str) -> float:
    return _loglog_interp(HOROWITZ_45NM_INT_ADD_PJ, bits) * logic_energy_scale(tech)


def int_mult_pj(bits: int, tech: str) -> float:
    return _loglog_interp(HOROWITZ_45NM_INT_MULT_PJ, bits) * logic_energy_scale(tech)


def fp_add_pj(fmt: str, tech: str) -> float:
    return HOROWITZ_45NM_FP_ADD_PJ[fmt] * logic_energy_scale(tech)


def fp_mult_pj(fmt: str, tech: str) -> float:
    return HOROWITZ_45NM_FP_MULT_PJ[fmt] * logic_energy_scale(tech)


def int_add_um2(bits: int, tech: str) -> float:
    return _loglog_interp(HOROWITZ_45NM_INT_ADD_UM2, bits) * logic_area_scale(tech)


def int_mult_um2(bits: int, tech: str) -> float:
    return _loglog_interp(HOROWITZ_45NM_INT_MULT_UM2, bits) * logic_area_scale(tech)


def register_um2(bits: int, tech: str) -> float:
    return bits * DFF_45NM_UM2_PER_BIT * logic_area_scale(tech)


# ----------------------------------------------------------------------- SRAM
_LAWSON_ITERATIONS = 100  # converges to the minimax fit well within 1% (checked in tests)

@dataclass(frozen=True)
class LogLogFit:
    """ln(y) = polynomial in u = ln(size / pivot), fitted on [lo, hi] bytes.

    Outside the fitted range the curve continues along its tangent in log-log
    space (a power law with the end point's local exponent), so a monotone fit
    stays monotone and never turns over.
    """

    coeffs: tuple[float, ...]   # numpy.polyval order: highest power first
    pivot_bytes: float
    lo_bytes: float
    hi_bytes: float

    @classmethod
    def fit(cls, sizes: tuple[int, ...], values: tuple[float, ...], degree: int,
            minimax: bool = False) -> "LogLogFit":
        """Least-squares fit in log-log space, or minimax (smallest worst-case ratio).

        The minimax fit uses Lawson's iteratively reweighted least squares: each
        point's weight grows with its residual until the worst ones balance.
        """
        pivot = math.exp(math.fsum(math.log(size) for size in sizes) / len(sizes))
        u = [math.log(size / pivot) for size in sizes]
        y = [math.log(value) for value in values]
        weights = [1.0 / len(u)] * len(u)
        for _ in range(_LAWSON_ITERATIONS if minimax else 1):
            coeffs = _weighted_polyfit(u, y, weights, degree)
            residuals = [abs(yi - _polyval(coeffs, ui)) for ui, yi in zip(u, y)]
            weights = [w * r + 1e-300 for w, r in zip(weights, residuals)]
            total = math.fsum(weights)
            weights = [w / total for w in weights]
        return cls(tuple(float(c) for c in coeffs), pivot, float(min(sizes)), float(max(sizes)))

    def exponent(self, size_bytes: float) -> float:
        """Local power-law exponent d ln y / d ln size (at the clamped size)."""
        u = math.log(min(max(size_bytes, self.lo_bytes), self.hi_bytes) / self.pivot_bytes)
        degree = len(self.coeffs) - 1
        slope = [c * (degree - i) for i, c in enumerate(self.coeffs[:-1])]
        return _polyval(tuple(slope), u) if slope else 0.0

    def __call__(self, size_bytes: float) -> float:
        if size_bytes <= 0:
            raise ValueError(f"SRAM size {size_bytes} bytes: expected > 0")
        edge = min(max(size_bytes, self.lo_bytes), self.hi_bytes)
        value = math.exp(_polyval(self.coeffs, math.log(edge / self.pivot_bytes)))
        return value * (size_bytes / edge) ** self.exponent(edge)


def _polyval(coeffs: tuple[float, ...], u: float) -> float:
    """Horner's rule, highest power first (numpy.polyval's order)."""
    value = 0.0
    for c in coeffs:
        value = value * u + c
    return value


def _weighted_polyfit(u: list[float], y: list[float], weights: list[float],
                      degree: int) -> tuple[float, ...]:
    """Least squares minimising sum(w * residual^2), highest power first.

    Normal equations solved by Gaussian elimination in plain floats with exact
    (fsum) sums, rather than numpy.polyfit: polyfit goes through LAPACK, whose
    last bits differ between BLAS builds and CPUs, and every SRAM energy in a
    result would inherit that difference.
    """
    n = degree + 1
    powers = [[ui ** k for k in range(n)] for ui in u]
    a = [[math.fsum(w * p[i] * p[j] for w, p in zip(weights, powers)) for j in range(n)]
         + [math.fsum(w * p[i] * yi for w, p, yi in zip(weights, powers, y))] for i in range(n)]
    for col in range(n):
        pivot_row = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot_row] = a[pivot_row], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            a[r] = [x - factor * z for x, z in zip(a[r], a[col])]
    solution = [0.0] * n
    for i in reversed(range(n)):
        solution[i] = (a[i][n] - math.fsum(a[i][j] * solution[j] for j in range(i + 1, n))) / a[i][i]
    return tuple(reversed(solution))


SRAM_READ_FIT_32NM = LogLogFit.fit(CACTI_32NM_SIZES_BYTES, CACTI_32NM_READ_PJ, degree=2,
                                   minimax=True)
SRAM_AREA_FIT_32NM = LogLogFit.fit(CACTI_32NM_SIZES_BYTES, CACTI_32NM_AREA_MM2, degree=1)


def sram_node_scale(tech: str) -> float:
    """Energy and area factor from CACTI's 32 nm to ``tech``."""
    check_tech(tech)
    return (TECH_NODES_NM[tech] / CACTI_NODE_NM) ** SRAM_NODE_EXPONENT


def sram_width_scale(word_bits: int) -> float:
    """Energy of a ``word_bits`` access relative to CACTI's 64-bit access."""
    if word_bits < 1:
        raise ValueError(f"word width {word_bits} bits: expected >= 1")
    share = word_bits / CACTI_32NM_WORD_BITS
    return SRAM_WIDTH_FIXED_SHARE + (1 - SRAM_WIDTH_FIXED_SHARE) * share


def sram_read_pj(capacity_bytes: float, word_bits: int, tech: str) -> float:
    """Energy of one read of a ``word_bits`` word from an SRAM of this capacity."""
    return (SRAM_READ_FIT_32NM(capacity_bytes) * sram_width_scale(word_bits)
            * sram_node_scale(tech))


def sram_write_pj(capacity_bytes: float, word_bits: int, tech: str) -> float:
    return sram_read_pj(capacity_bytes, word_bits, tech) * SRAM_WRITE_OVER_READ


def sram_area_mm2(capacity_bytes: float, tech: str) -> float:
    """Macro area of a single-port SRAM of this capacity."""
    return SRAM_AREA_FIT_32NM(capacity_bytes) * sram_node_scale(tech)


def sram_plain_power_law_exponent() -> float:
    """Least-squares exponent of a plain power law through the CACTI read points.

    Kept as a check on the data: CACTI-style data scale as ~size^0.55.
    """
    slope, _ = np.polyfit(np.log(CACTI_32NM_SIZES_BYTES), np.log(CACTI_32NM_READ_PJ), 1)
    return float(slope)


def leakage_w_per_mm2(tech: str) -> float:
    check_tech(tech)
    return LEAKAGE_W_PER_MM2[tech]
