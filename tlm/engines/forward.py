"""Forward Engine jobs: build each output-channel tile's LUTs, then stream spikes.

Layer-major: for one layer, the LUTs of as many output channels as fit the LUT
buffer are built once from the weights and reused by every timestep, every
sample and every conv position (DESIGN §3). If the layer's LUTs do not fit,
its output channels are tiled and every channel tile streams the input spikes
again — refetch traffic that comes out of the model, not out of an assumption.
Each lookup tile hands its partial sums to the LIF unit over ``fe->lif``.
"""

from __future__ import annotations

import math

from tlm.costs.forward import (live_pattern_count, lookup_cost, lut_build_cost,
                                lut_replicas, lut_storage_bytes)
from tlm.engines import lif
from tlm.engines.context import Context, kib
from tlm.jobs import Access, Job, Work
from tlm.layout import packed_bytes


def channel_tiles(ctx: Context, n: int) -> list[range]:
    """Output-channel ranges whose LUTs (or weights, without LUTs) fit the LUT buffer."""
    layer = ctx.network.layers[n]
    per_channel_bytes = lut_storage_bytes(layer, ctx.cfg.fe, 1)
    per_tile = max(1, kib(ctx.cfg.fe.lut_buffer_kib) // max(1, per_channel_bytes))
    channels = layer.out_channels
    return [range(c, min(c + per_tile, channels)) for c in range(0, channels, per_tile)]


def sample_chunks(ctx: Context, n: int) -> list[slice]:
    """Chunks for FE lookups and the LIF forward jobs they feed."""
    layer, cfg = ctx.network.layers[n], ctx.cfg
    return ctx.chunks((kib(cfg.fe.input_buffer_kib), packed_bytes(layer.in_neurons)),
                      (kib(cfg.lif.output_buffer_kib), 2 * packed_bytes(layer.out_neurons)))


def build_job(ctx: Context, n: int, channels: range) -> Job:
    layer = ctx.network.layers[n]

    def prepare() -> Work:
        address, total_bytes = ctx.layout.weights(n)
        per_channel = total_bytes / max(1, layer.out_channels)
        weights = Access("weights", n, 0, address + int(channels.start * per_channel),
                         math.ceil(len(channels) * per_channel), "fe.lut")
        reads = (weights,) if layer.has_weights else ()
        lut_bytes = (lut_storage_bytes(layer, ctx.cfg.fe, len(channels))
                     * lut_replicas(layer, ctx.cfg.fe, len(channels)))  # every PE's own copy
        return Work(reads, (), lut_build_cost(layer, ctx.cfg.fe, len(channels)),
                    holds={"fe.lut": lut_bytes})

    return Job("fe", "forward", n, 0, f"fe build L{n} c{channels.start}", prepare)


def lookup_job(ctx: Context, n: int, channels: range, samples: slice, t: int,
               refetch: bool) -> Job:
    layer = ctx.network.layers[n]

    def prepare() -> Work:
        spikes = ctx.trace.input_of(n, "spikes", t, samples)
        if layer.kind == "avgpool":  # a pool channel reads only its own input channel
            spikes = spikes[:, channels.start:channels.stop]
        tile = Access("spikes", n - 1, t, ctx.layout.address("spikes", n - 1, t, samples.start),
                      ctx.layout.spike_tile_bytes(n - 1, spikes.shape[0]), "fe.input", refetch)
        live = None
        if layer.kind != "avgpool":  # every output-channel tile sees the same patterns
            counts = ctx.memo.setdefault(("live_patterns", n), {})  # a few ints per layer
            if (samples.start, t) not in counts:
                counts[samples.start, t] = live_pattern_count(layer, spikes, ctx.cfg.fe,
                                                              len(channels))
            live = counts[samples.start, t]
        return Work((tile,), (), lookup_cost(layer, spikes, ctx.cfg.fe, len(channels), live))

    after = (("spikes", n - 1, t),) if n > 0 else ()
    return Job("fe", "forward", n, t, f"fe L{n} c{channels.start} b{samples.start} t{t}",
               prepare, after=after, gives=("fe->lif",))


def forward_program(ctx: Context, n: int) -> tuple[list[Job], list[Job]]:
    """FE and LIF programs of one layer: per channel tile, build, then per chunk and t look up."""
    fe_jobs: list[Job] = []
    lif_jobs: list[Job] = []
    for j, channels in enumerate(channel_tiles(ctx, n)):
        fe_jobs.append(build_job(ctx, n, channels))
        for samples in sample_chunks(ctx, n):
            for t in range(ctx.timesteps):
                fe_jobs.append(lookup_job(ctx, n, channels, samples, t, refetch=j > 0))
                lif_jobs.append(lif.forward_job(ctx, n, channels, samples, t))
    return fe_jobs, lif_jobs
