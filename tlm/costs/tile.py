"""What a cost function returns: the cycles and action counts of one engine on one tile."""

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
