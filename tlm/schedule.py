"""The BPTT schedule of one training iteration, as one program per engine.

Forward: layer by layer (layer-major, so each layer's LUTs are built once and
reused by all timesteps and samples), FE lookups feeding the LIF unit.
Backward: the loss seeds du of the last layer; then for each layer n from the
last down to 1 the Backward Engine computes do for layer n-1 in reverse time
and the LIF unit turns it into du[n-1]; the Weight Update Engine computes dW[n]
from the du tiles the BE forwards, and finally dW[0] from DRAM.

Every engine runs its program in order; what may overlap is decided only by
the data dependencies (scoreboard keys), the channels' depths and, in serial
mode, the global lock — never by special cases here.
"""

from __future__ import annotations

from tlm.engines.backward import backward_program, loss_program
from tlm.engines.context import Context
from tlm.engines.forward import forward_program
from tlm.engines.weight_update import weight_update_jobs
from tlm.jobs import Programs

__all__ = ["Programs", "build_programs"]


def build_programs(ctx: Context) -> Programs:
    programs = Programs([], [], [], [])
    layers = len(ctx.network.layers)
    for n in range(layers):
        fe_jobs, lif_jobs = forward_program(ctx, n)
        programs.fe += fe_jobs
        programs.lif += lif_jobs
    programs.lif += loss_program(ctx)
    for n in reversed(range(1, layers)):
        be_jobs, lif_jobs = backward_program(ctx, n)
        programs.be += be_jobs
        programs.lif += lif_jobs
        programs.wue += weight_update_jobs(ctx, n)
    programs.wue += weight_update_jobs(ctx, 0)
    return programs
