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

from tlm.costs.backward import backward_cost
from tlm.costs.forward import live_pattern_count, lookup_cost, lut_build_cost, lut_storage_bytes
from tlm.costs.lif import lif_backward_cost, lif_forward_cost
from tlm.costs.tile import ZERO_COST, TileCost, as_neuron_shape
from tlm.costs.weight_update import weight_update_cost

__all__ = ["TileCost", "ZERO_COST", "as_neuron_shape", "backward_cost", "live_pattern_count",
           "lookup_cost", "lut_build_cost", "lut_storage_bytes", "lif_backward_cost",
           "lif_forward_cost", "weight_update_cost"]
