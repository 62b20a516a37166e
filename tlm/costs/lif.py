"""LIF unit cost: elementwise neuron updates, ``lanes`` neurons per cycle.

Forward, per neuron and timestep (DESIGN §2):
  u = tau · u_prev · (1 - o_prev) + x ; o = H(u - Vth) ; h = |u - Vth| < a/2
  -> 1 mul (leak), 1 add (+x), 1 select (hard reset: keep u or 0),
     3 compares (threshold; the two edges of the surrogate window).
Backward, per neuron and timestep (reverse time order):
  du = do ⊙ h + du_next ⊙ tau · (1 - o)
  -> 1 mul (tau · du_next), 2 selects (gate do by h; gate by 1 - o), 1 add.

Every neuron-step also reads and writes its carried state (u forward, du[t+1]
backward) in the membrane buffer: ``membrane_read`` / ``membrane_write``, one
``membrane_bits`` word each (the first step reads the reset value like any other).

The work does not depend on the data (nothing is skipped), and every lane
does one neuron-step per cycle, so cycles = ceil(neurons · batch / lanes).
"""

from __future__ import annotations

import math

from tlm.config import LifConfig
from tlm.costs.tile import TileCost

STATE_RMW = {"membrane_read": 1, "membrane_write": 1}  # the carried state's read-modify-write
FORWARD_OPS_PER_NEURON = {"mul": 1, "add": 1, "select": 1, "compare": 3, **STATE_RMW}
BACKWARD_OPS_PER_NEURON = {"mul": 1, "add": 1, "select": 2, **STATE_RMW}


def _elementwise_cost(neurons: int, batch: int, cfg: LifConfig,
                      per_neuron: dict[str, int]) -> TileCost:
    if neurons < 0 or batch < 0:
        raise ValueError(f"LIF tile of {neurons} neurons x {batch} samples, expected >= 0")
    steps = neurons * batch
    return TileCost(math.ceil(steps / cfg.lanes),
                    {name: count * steps for name, count in per_neuron.items()})


def lif_forward_cost(neurons: int, batch: int, cfg: LifConfig) -> TileCost:
    """One timestep of ``neurons`` LIF neurons for ``batch`` samples (forward)."""
    return _elementwise_cost(neurons, batch, cfg, FORWARD_OPS_PER_NEURON)


def lif_backward_cost(neurons: int, batch: int, cfg: LifConfig) -> TileCost:
    """One timestep of the du recursion for ``neurons`` neurons and ``batch`` samples."""
    return _elementwise_cost(neurons, batch, cfg, BACKWARD_OPS_PER_NEURON)
