"""Weight Update Engine jobs: dW[n] = Σ_t Σ_b du[t, n] ⊗ o[t, n-1], then W -= lr·dW.

Points are grouped k timesteps at a time (the spike history that addresses the
LUT), in reverse time so that du tiles can be consumed as the Backward Engine
forwards them over ``be->wue``. Layer 0 has no Backward Engine stage in front
of it, so its WUE reads du from DRAM. dW accumulates in the gradient buffer;
the part that does not fit is spilled and re-read every group. At the end of
the layer the weights stream through once for the update itself.
"""

from __future__ import annotations

import math

import numpy as np

from tlm.config import WeightUpdateEngineConfig
from tlm.costs import TileCost
from tlm.costs.weight_update import weight_update_cost
from tlm.engines.backward import stage_chunks
from tlm.engines.context import Context, kib
from tlm.jobs import Access, Job, Work
from tlm.layout import packed_bytes


def apply_cost(weights: int, cfg: WeightUpdateEngineConfig) -> TileCost:
    """SGD step W -= lr·dW: per weight one dW read, one multiply and one add, ``pes`` per cycle."""
    return TileCost(math.ceil(weights / cfg.pes),
                    {"mul": weights, "add": weights, "grad_read": weights})


def time_groups(timesteps: int, k: int) -> list[range]:
    """Groups of up to k consecutive timesteps, latest first."""
    return [range(max(0, end - k), end) for end in range(timesteps, 0, -k)]


def update_job(ctx: Context, n: int, samples: slice, group: range, forwarded: bool) -> Job:
    layer, cfg = ctx.network.layers[n], ctx.cfg
    grad_bytes = math.ceil(layer.weight_count * cfg.be.grad_bits / 8)
    excess = grad_bytes - kib(cfg.wue.grad_buffer_kib)

    def prepare() -> Work:
        spikes = np.stack([ctx.trace.input_of(n, "spikes", t, samples) for t in group])
        du = np.stack([ctx.trace.output_of(n, "du", t, samples) for t in group])
        count = du.shape[1]
        reads = [Access("spikes", n - 1, t, ctx.layout.address("spikes", n - 1, t, samples.start),
                        ctx.layout.spike_tile_bytes(n - 1, count), "wue.input") for t in group]
        if not forwarded:
            reads += [Access("du", n, t, ctx.layout.address("du", n, t, samples.start),
                             ctx.layout.du_tile_bytes(n, count, int(du[i].sum())), "wue.input")
                      for i, t in enumerate(group)]
        writes: tuple[Access, ...] = ()
        if excess > 0:
            address = ctx.layout.address("spill", n)
            reads.append(Access("dw", n, group.start, address, excess, "wue.grad", True))
            writes = (Access("dw", n, group.start, address, excess, "wue.grad"),)
        cost = weight_update_cost(layer, du.reshape(du.shape[:2] + layer.out_shape), spikes, cfg.wue)
        return Work(tuple(reads), writes, cost, holds={"wue.grad": grad_bytes})

    after = tuple(("spikes", n - 1, t) for t in group) if n > 0 else ()
    if not forwarded:
        after += tuple(("du", n, t) for t in group)
    takes = ("be->wue",) * len(group) if forwarded else ()
    return Job("wue", "weight_update", n, group.start,
               f"wue L{n} b{samples.start} t{group.start}-{group.stop - 1}", prepare,
               after=after, takes=takes)


def apply_jobs(ctx: Context, n: int) -> list[Job]:
    """Stream W[n] through the WUE once: read, update, write back."""
    address, total_bytes = ctx.layout.weights(n)
    room_kib = min(ctx.cfg.wue.input_buffer_kib, ctx.cfg.wue.output_buffer_kib)
    chunk_bytes = max(1, kib(room_kib) // ctx.cfg.pipeline.prefetch_tiles)
    per_weight = total_bytes / ctx.network.layers[n].weight_count
    jobs = []
    for offset in range(0, total_bytes, chunk_bytes):
        length = min(chunk_bytes, total_bytes - offset)

        def prepare(offset: int = offset, length: int = length) -> Work:
            tile = Access("weights", n, 0, address + offset, length, "wue.input")
            written = Access("weights", n, 0, address + offset, length, "wue.output")
            return Work((tile,), (written,), apply_cost(round(length / per_weight), ctx.cfg.wue))

        jobs.append(Job("wue", "weight_update", n, 0, f"wue apply L{n} @{offset}", prepare))
    return jobs


def weight_update_jobs(ctx: Context, n: int) -> list[Job]:
    """The WUE program of layer n (nothing for layers without weights)."""
    if not ctx.network.layers[n].has_weights:
        return []
    forwarded = n > 0
    chunks = stage_chunks(ctx, n) if forwarded else ctx.chunks(
        (kib(ctx.cfg.wue.input_buffer_kib),
         ctx.cfg.wue.lut_k * (packed_bytes(ctx.network.layers[0].in_neurons)
                              + ctx.layout.du_sample_bytes(0, ctx.network.layers[0].out_neurons))))
    jobs = [update_job(ctx, n, samples, group, forwarded)
            for samples in chunks for group in time_groups(ctx.timesteps, ctx.cfg.wue.lut_k)]
    return jobs + apply_jobs(ctx, n)
