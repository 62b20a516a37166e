"""Pure cost functions of the engines: a tile of trace data + config -> TileCost.

The SimPy processes only call these and wait for ``cycles``; the counts in
``ops`` are priced afterwards by the energy table (count during the run,
price afterwards), and ``skipped`` says what sparsity saved. Keeping them
pure makes them testable without a simulator and lets the analytic check
"simulated cycles = Σ costs" hold by construction.

Action names used across the engines:

- ``lut_read`` / ``lut_write``: one LUT entry read / written;
- ``add``: one accumulator add (LUT build, accumulation of lookups, binary
  accumulation in the ablation modes, LIF adds);
- ``weight_read``: one weight fetched from the engine's weight buffer;
- ``mac``: one multiply-accumulate (Backward Engine);
- ``mul``, ``compare``, ``select``: LIF unit arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np


def _merge(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    merged = dict(a)
    for key, value in b.items():
        merged[key] = merged.get(key, 0) + value
    return merged


@dataclass(frozen=True)
class TileCost:
    """Cycles and action counts of one engine on one tile.

    Costs add: ``a + b`` is the cost of doing a then b on the same engine
    (cycles add, counts merge), and ``sum(costs)`` works (0 is the identity).
    """

    cycles: int = 0
    ops: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # private copies with plain ints, so a caller's dict or numpy scalar cannot leak in
        object.__setattr__(self, "cycles", int(self.cycles))
        object.__setattr__(self, "ops", {k: int(v) for k, v in self.ops.items()})
        object.__setattr__(self, "skipped", {k: int(v) for k, v in self.skipped.items()})
        if self.cycles < 0 or any(v < 0 for v in (*self.ops.values(), *self.skipped.values())):
            raise ValueError(f"negative cost: {self}")

    def __add__(self, other: "TileCost") -> "TileCost":
        if not isinstance(other, TileCost):
            return NotImplemented
        return TileCost(self.cycles + other.cycles, _merge(self.ops, other.ops),
                        _merge(self.skipped, other.skipped))

    def __radd__(self, other: object) -> "TileCost":
        if other == 0:  # so that sum(costs) starts from the integer 0
            return self
        return NotImplemented

    def op(self, name: str) -> int:
        """Count of action ``name`` (0 if it never happened)."""
        return self.ops.get(name, 0)

    def skip(self, name: str) -> int:
        """Count of action ``name`` avoided thanks to sparsity (0 if none)."""
        return self.skipped.get(name, 0)


ZERO_COST = TileCost()


def as_neuron_shape(array: np.ndarray, lead: int, shape: tuple[int, ...], what: str) -> np.ndarray:
    """View ``array`` as [*lead axes, *shape], accepting a flattened neuron axis too.

    Traces store neurons flattened (C-order); cost functions need the spatial shape.
    """
    if tuple(array.shape[lead:]) == tuple(shape):
        return array
    if array.ndim == lead + 1 and array.shape[lead] == math.prod(shape):
        return array.reshape(array.shape[:lead] + tuple(shape))
    raise ValueError(f"{what} of shape {array.shape}, expected "
                     f"({', '.join(['...'] * lead + [str(v) for v in shape])}) or flattened neurons")

__all__ = ["TileCost", "ZERO_COST", "as_neuron_shape"]

# the engines' cost functions, importable from here (they import TileCost above)
from tlm.costs.backward import backward_cost  # noqa: E402
from tlm.costs.forward import (live_pattern_count, lookup_cost, lut_build_cost,  # noqa: E402
                               lut_storage_bytes)
from tlm.costs.lif import lif_backward_cost, lif_forward_cost  # noqa: E402
from tlm.costs.weight_update import weight_update_cost  # noqa: E402

__all__ += ["backward_cost", "live_pattern_count", "lookup_cost", "lut_build_cost", "lut_storage_bytes",
            "lif_backward_cost", "lif_forward_cost", "weight_update_cost"]
