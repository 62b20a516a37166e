"""LIF unit jobs: forward membrane update, the loss, the backward du recursion.

Forward: each FE lookup tile's partial sums arrive over ``fe->lif``; the unit
updates u, fires, derives the surrogate mask and writes spikes and mask back
(bit-packed). Backward runs in reverse time: for the last layer the loss
gradient seeds du; for the others the BE's do arrives over ``be->lif`` and
du[t] = do ⊙ h + du[t+1] ⊙ tau(1 - o) needs o[t] from DRAM. du is written back
compressed (bitmask + non-zero values) — its size comes from the trace.

The state carried across timesteps (u forward, du[t+1] backward) lives in the
membrane buffer; when a chunk's state does not fit, the excess spills to DRAM
and is re-read the next timestep.
"""

from __future__ import annotations

import math

from tlm.costs.lif import lif_backward_cost, lif_forward_cost
from tlm.engines.context import Context, kib
from tlm.jobs import Access, Job, Work
from tlm.layout import packed_bytes


def spill_accesses(ctx: Context, n: int, t: int, state_bytes: int, first: bool, last: bool
                   ) -> tuple[tuple[Access, ...], tuple[Access, ...]]:
    """(reads, writes) of the state that does not fit the membrane buffer."""
    excess = state_bytes - kib(ctx.cfg.lif.membrane_buffer_kib)
    if excess <= 0:
        return (), ()
    address = ctx.layout.address("spill", n)
    reads = () if first else (Access("membrane", n, t, address, excess, "lif.membrane", True),)
    writes = () if last else (Access("membrane", n, t, address, excess, "lif.membrane"),)
    return reads, writes


def forward_job(ctx: Context, n: int, channels: range, samples: slice, t: int) -> Job:
    layer, cfg = ctx.network.layers[n], ctx.cfg
    neurons = len(channels) * layer.out_positions
    count = samples.stop - samples.start

    def prepare() -> Work:
        state = math.ceil(count * neurons * cfg.lif.membrane_bits / 8)
        reads, spills = spill_accesses(ctx, n, t, state, t == 0, t == ctx.timesteps - 1)
        offset = channels.start * layer.out_positions // 8
        length = count * packed_bytes(neurons)
        writes = tuple(Access(tensor, n, t, ctx.layout.address(tensor, n, t, samples.start) + offset,
                              length, "lif.output") for tensor in ("spikes", "h"))
        return Work(reads, writes + spills, lif_forward_cost(neurons, count, cfg.lif),
                    holds={"lif.membrane": state})

    return Job("lif", "forward", n, t, f"lif fwd L{n} c{channels.start} b{samples.start} t{t}",
               prepare, takes=("fe->lif",), signals=(("spikes", n, t), ("h", n, t)))


def backward_job(ctx: Context, n: int, samples: slice, t: int, loss: bool) -> Job:
    """du[t] of layer n for one chunk; ``loss`` seeds it from the loss (last layer)."""
    layer, cfg = ctx.network.layers[n], ctx.cfg
    count = samples.stop - samples.start

    def prepare() -> Work:
        tile_bytes = ctx.layout.spike_tile_bytes(n, count)
        tensors = ("spikes", "h") if loss else ("spikes",)
        reads = tuple(Access(tensor, n, t, ctx.layout.address(tensor, n, t, samples.start),
                             tile_bytes, "lif.input") for tensor in tensors)
        state = math.ceil(count * layer.out_neurons * cfg.be.grad_bits / 8)
        spill_reads, spill_writes = spill_accesses(ctx, n, t, state, t == ctx.timesteps - 1, t == 0)
        nonzeros = int(ctx.trace.output_of(n, "du", t, samples).sum())
        du = Access("du", n, t, ctx.layout.address("du", n, t, samples.start),
                    ctx.layout.du_tile_bytes(n, count, nonzeros), "lif.output")
        return Work(reads + spill_reads, (du,) + spill_writes,
                    lif_backward_cost(layer.out_neurons, count, cfg.lif),
                    holds={"lif.membrane": state})

    if loss:  # the loss needs the output firing rate over all timesteps
        after = tuple(("spikes", n, s) for s in range(ctx.timesteps))
        takes: tuple[str, ...] = ()
    else:
        after, takes = (("spikes", n, t),), ("be->lif",)
    kind = "loss" if loss else "bwd"
    return Job("lif", "backward", n, t, f"lif {kind} L{n} b{samples.start} t{t}", prepare,
               after=after, takes=takes, signals=(("du", n, t),))
