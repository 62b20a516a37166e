"""Backward Engine jobs: do[t, n-1] = W[n]^T du[t, n], in reverse time.

One stage per layer n >= 1, from the last layer down. Each tile is one
timestep of a chunk of samples: it reads du[n][t] (compressed, so its size is
the trace's) and the mask h[n-1][t] (output sparsity: do is only needed where
h is 1), computes for the dual-sparsity cost of the tile — the slowest lane
sets the time — and hands do to the LIF unit. When layer n has weights it also
forwards the du tile on-chip to the Weight Update Engine over ``be->wue``, so
the WUE of layer n overlaps the BE of layer n-1 (DESIGN §3, pipeline).

W[n] stays in the weight buffer for the whole stage when it fits; otherwise it
is streamed again for every tile (refetch traffic).
"""

from __future__ import annotations

from tlm.costs.backward import backward_cost
from tlm.engines import lif
from tlm.engines.context import Context, kib
from tlm.jobs import Access, Job, Work
from tlm.layout import packed_bytes


def stage_chunks(ctx: Context, n: int) -> list[slice]:
    """Sample chunks shared by BE(n), the LIF jobs it feeds and WUE(n)."""
    cfg, layer = ctx.cfg, ctx.network.layers[n]
    du_sample = ctx.layout.du_sample_bytes(n, layer.out_neurons)
    spikes_in = packed_bytes(layer.in_neurons)
    return ctx.chunks((kib(cfg.be.input_buffer_kib), du_sample + spikes_in),
                      (kib(cfg.lif.input_buffer_kib), spikes_in),
                      (kib(cfg.lif.output_buffer_kib), ctx.layout.du_sample_bytes(n - 1, layer.in_neurons)),
                      (kib(cfg.wue.input_buffer_kib), cfg.wue.lut_k * spikes_in))


def backward_job(ctx: Context, n: int, samples: slice, t: int, weights_read: bool,
                 weights_refetch: bool) -> Job:
    layer, cfg = ctx.network.layers[n], ctx.cfg

    def prepare() -> Work:
        du = ctx.trace.output_of(n, "du", t, samples)
        h = ctx.trace.input_of(n, "h", t, samples)
        count = du.shape[0]
        du_bytes = ctx.layout.du_tile_bytes(n, count, int(du.sum()))
        reads = [Access("du", n, t, ctx.layout.address("du", n, t, samples.start), du_bytes, "be.input"),
                 Access("h", n - 1, t, ctx.layout.address("h", n - 1, t, samples.start),
                        ctx.layout.spike_tile_bytes(n - 1, count), "be.input")]
        address, length = ctx.layout.weights(n)
        if weights_read:
            reads.append(Access("weights", n, t, address, length, "be.weight", weights_refetch))
        cost = backward_cost(layer, h, du.reshape((count,) + layer.out_shape), cfg.be)
        return Work(tuple(reads), (), cost, holds={"be.weight": length})

    gives = ("be->lif", "be->wue") if layer.has_weights else ("be->lif",)
    return Job("be", "backward", n, t, f"be L{n} b{samples.start} t{t}", prepare,
               after=(("du", n, t), ("h", n - 1, t)), gives=gives)


def backward_program(ctx: Context, n: int) -> tuple[list[Job], list[Job]]:
    """BE program of stage n (W[n], producing do for layer n-1) and the LIF jobs it feeds."""
    _, weight_bytes = ctx.layout.weights(n)
    resident = weight_bytes <= kib(ctx.cfg.be.weight_buffer_kib)
    be_jobs: list[Job] = []
    lif_jobs: list[Job] = []
    for samples in stage_chunks(ctx, n):
        for t in reversed(range(ctx.timesteps)):
            first = not be_jobs
            be_jobs.append(backward_job(ctx, n, samples, t, weights_read=first or not resident,
                                        weights_refetch=not first))
            lif_jobs.append(lif.backward_job(ctx, n - 1, samples, t, loss=False))
    return be_jobs, lif_jobs


def loss_program(ctx: Context) -> list[Job]:
    """LIF jobs that seed du of the last layer from the loss, latest timestep first."""
    n = len(ctx.network.layers) - 1
    layer = ctx.network.layers[n]
    chunks = ctx.chunks((kib(ctx.cfg.lif.input_buffer_kib), 2 * packed_bytes(layer.out_neurons)),
                        (kib(ctx.cfg.lif.output_buffer_kib),
                         ctx.layout.du_sample_bytes(n, layer.out_neurons)))
    return [lif.backward_job(ctx, n, samples, t, loss=True)
            for samples in chunks for t in reversed(range(ctx.timesteps))]
