"""GPU baseline: one BPTT training iteration run the usual PyTorch way, priced kernel by kernel.

The reference is the co-authors' public STBP code (yjwu17/STBP-for-training-
SpikingNN) in eager PyTorch, FP32: a Python loop over timesteps calls, for every
layer, the conv/linear op and the LIF update ``mem = mem*decay*(1-spike) + x;
spike = act_fun(mem)``; autograd then replays the graph backwards. Nothing is
fused and nothing exploits spike sparsity — the GPU computes densely.

Each launched kernel costs (a roofline with a launch floor)::

    t = max(flops / (peak_flops * eff * util), bytes / (bw * bw_eff), launch_s)

* ``eff``: best fraction of peak a cuDNN/cuBLAS FP32 kernel reaches;
* ``util``: fraction of SMs a small GEMM can occupy — output tiles of 64×64
  (times split-K chunks of 4096) over the SM count, capped at 1; small-batch
  layers leave most SMs idle;
* ``launch_s``: PyTorch eager dispatch + CUDA launch per op; the CPU issues ops
  asynchronously, so a kernel longer than that hides it (hence ``max``).

Kernels run one after another on one stream; time is their sum. Energy is an
average board power (a fraction of TDP) × time. Every factor is a documented
assumption in ``GpuSpec`` / the constants below; docs/energy-area-gpu.md
derives the kernel counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from traces.network import LayerSpec, Network


@dataclass(frozen=True)
class GpuSpec:
    """A GPU's public datasheet numbers plus the model's efficiency assumptions."""

    name: str
    die_area_mm2: float
    fp32_tflops: float
    fp16_tensor_tflops: float
    mem_bw_gbps: float
    tdp_w: float
    sm_count: int
    node_nm: int
    # assumption: well-shaped FP32 cuDNN/cuBLAS kernels reach 70-80% of peak
    gemm_efficiency: float = 0.70
    # assumption: STREAM-like kernels reach ~85-90% of HBM2 peak
    bw_efficiency: float = 0.85
    # REFERENCE.md: a launch costs "a few µs"; eager PyTorch dispatch is of that order
    launch_s: float = 5e-6
    # assumption: launch- and memory-bound small-batch training draws well below TDP
    power_fraction_of_tdp: float = 0.6


# V100 SXM2: REFERENCE.md (NVIDIA V100 datasheet / whitepaper); 80 SMs (Volta whitepaper).
# A100 SXM4 40GB: NVIDIA A100 datasheet (19.5 TFLOPS FP32, 312 FP16 tensor, 1555 GB/s,
# 400 W) and Ampere whitepaper (826 mm², 7 nm, 108 SMs).
GPU_PRESETS: dict[str, GpuSpec] = {
    "v100": GpuSpec("NVIDIA V100 SXM2", 815.0, 15.7, 125.0, 900.0, 300.0, 80, 12),
    "a100": GpuSpec("NVIDIA A100 SXM4 40GB", 826.0, 19.5, 312.0, 1555.0, 400.0, 108, 7),
}

BYTES_PER_VALUE = 4          # FP32 tensors, as the STBP code trains
GEMM_TILE = 64               # assumption: a mid-size cuBLAS/cuDNN CTA tile (64×64 outputs)
SPLIT_K_CHUNK = 4096         # assumption: libraries split long reductions into ~4K chunks
ELEMENTWISE_TENSORS = 3      # an elementwise op reads two tensors and writes one
# Kernels per LIF step, counted from the STBP code (docs/energy-area-gpu.md):
# forward mul, rsub, mul, add, gt, float-cast; backward 6 for the surrogate
# (clone, sub, abs, lt, cast, mul) + 5 for the update (3 muls, neg, grad sum).
LIF_FWD_KERNELS = 6
LIF_BWD_KERNELS = 11
STATE_INIT_KERNELS = 1       # torch.zeros for the layer's mem/spike state, once per iteration
ADAM_KERNELS = 8             # single-tensor Adam: 2 moment updates ×2, sqrt, div, add eps, addcdiv
ADAM_TENSOR_ACCESSES = 3     # per kernel: ~2 weight-sized reads and 1 write
LOSS_FIXED_KERNELS = 8       # divide by T, MSE fwd (sub, pow, mean), bwd (4)


@dataclass(frozen=True)
class GpuKernel:
    """One kind of kernel, launched ``count`` times with identical cost."""

    layer: str
    phase: str              # "forward" | "backward" | "optimizer" | "loss"
    op: str
    count: int
    flops: float            # per launch
    bytes: float            # per launch
    seconds: float          # per launch
    launch_bound: bool


@dataclass(frozen=True)
class GpuEstimate:
    """A training iteration on a GPU: totals, breakdowns and the kernel records."""

    name: str
    seconds: float
    energy_j: float
    power_w: float
    area_mm2: float
    kernels_launched: int
    flops: float
    bytes: float
    by_phase_s: dict[str, float]
    by_layer_s: dict[str, float]
    kernels: tuple[GpuKernel, ...] = field(repr=False)

    @property
    def launch_bound_fraction(self) -> float:
        """Share of the time spent in kernels whose launch floor set their duration."""
        bound = sum(k.count * k.seconds for k in self.kernels if k.launch_bound)
        return bound / self.seconds if self.seconds > 0 else 0.0


def get_gpu(preset: str) -> GpuSpec:
    try:
        return GPU_PRESETS[preset]
    except KeyError:
        known = ", ".join(GPU_PRESETS)
        raise ValueError(f"GPU preset {preset!r}: expected one of {known}") from None


def gpu_baseline(network: Network, timesteps: int, batch: int, preset: str = "v100") -> GpuEstimate:
    """Estimate one BPTT iteration (forward over T, backward over T, optimizer step)."""
    if timesteps < 1 or batch < 1:
        raise ValueError(f"timesteps {timesteps}, batch {batch}: expected >= 1")
    gpu = get_gpu(preset)
    rows = [(layer.name, row) for index, layer in enumerate(network.layers)
            for row in _layer_kernels(layer, index == 0, timesteps, batch)]
    rows += [("loss", row) for row in _loss_kernels(network.layers[-1], timesteps, batch)]
    kernels = [_price(gpu, layer, row) for layer, row in rows if row.count > 0]
    return _estimate(gpu, tuple(kernels))


def dense_flops(layer: LayerSpec, batch: int) -> float:
    """FLOPs of one dense forward step of a layer (a multiply-add counts 2)."""
    if layer.kind == "avgpool":
        return float(batch * layer.out_neurons * layer.fan_in)
    return 2.0 * batch * layer.out_neurons * layer.fan_in


def gemm_utilisation(gpu: GpuSpec, m: int, n: int, k: int) -> float:
    """Fraction of SMs busy for an m×n GEMM output with reduction length k."""
    tiles = math.ceil(m / GEMM_TILE) * math.ceil(n / GEMM_TILE) * math.ceil(k / SPLIT_K_CHUNK)
    return min(1.0, tiles / gpu.sm_count)


@dataclass(frozen=True)
class _Row:
    """A kernel before pricing; ``gemm`` is (M, N, K) for library GEMM/conv kernels."""

    phase: str
    op: str
    count: int
    flops: float
    bytes: float
    gemm: tuple[int, int, int] | None = None


def _layer_kernels(layer: LayerSpec, first: bool, steps: int, batch: int) -> list[_Row]:
    n = batch * layer.out_neurons
    elementwise = float(ELEMENTWISE_TENSORS * n * BYTES_PER_VALUE)
    rows = _synapse_kernels(layer, first, steps, batch) + [
        _Row("forward", "state_init", STATE_INIT_KERNELS, 0.0, float(n * BYTES_PER_VALUE)),
        _Row("forward", "lif_fwd", LIF_FWD_KERNELS * steps, float(n), elementwise),
        _Row("backward", "lif_bwd", LIF_BWD_KERNELS * steps, float(n), elementwise),
    ]
    if layer.has_weights:
        w = float(layer.weight_count)
        w_bytes = w * BYTES_PER_VALUE
        rows += [  # autograd sums the T per-step weight gradients: T-1 adds
            _Row("backward", "grad_accumulate", steps - 1, w, ELEMENTWISE_TENSORS * w_bytes),
            _Row("optimizer", "adam", ADAM_KERNELS, 2 * w, ADAM_TENSOR_ACCESSES * w_bytes),
        ]
    return rows


def _synapse_kernels(layer: LayerSpec, first: bool, steps: int, batch: int) -> list[_Row]:
    """conv/linear/pool forward, grad-input (not for the first layer), grad-weight."""
    flops = dense_flops(layer, batch)
    x, y = batch * layer.in_neurons, batch * layer.out_neurons
    if layer.kind == "avgpool":
        moved = float((x + y) * BYTES_PER_VALUE)
        rows = [_Row("forward", "pool_fwd", steps, flops, moved)]
        return rows if first else rows + [_Row("backward", "pool_bwd", steps, flops, moved)]
    moved = float((x + y + layer.weight_count) * BYTES_PER_VALUE)
    m, n, k = batch * layer.out_positions, layer.out_channels, layer.fan_in
    kind = "conv" if layer.kind == "conv" else "gemm"
    rows = [_Row("forward", f"{kind}_fwd", steps, flops, moved, (m, n, k)),
            _Row("backward", f"{kind}_bwd_weight", steps, flops, moved, (n, k, m))]
    if not first:
        in_c = layer.in_shape[0] if layer.kind == "conv" else layer.in_neurons
        in_m = x // in_c
        rows.append(_Row("backward", f"{kind}_bwd_data", steps, flops, moved,
                         (in_m, in_c, n * layer.kernel * layer.kernel)))
    return rows


def _loss_kernels(last: LayerSpec, steps: int, batch: int) -> list[_Row]:
    """Output spike count summed over time (one add per step), then an MSE loss."""
    n = float(batch * last.out_neurons)
    moved = ELEMENTWISE_TENSORS * n * BYTES_PER_VALUE
    return [_Row("loss", "sum_over_time", steps, n, moved),
            _Row("loss", "mse", LOSS_FIXED_KERNELS, n, moved)]


def _price(gpu: GpuSpec, layer: str, row: _Row) -> GpuKernel:
    util = 1.0 if row.gemm is None else gemm_utilisation(gpu, *row.gemm)
    efficiency = gpu.gemm_efficiency if row.gemm is not None else 1.0
    compute_s = row.flops / (gpu.fp32_tflops * 1e12 * efficiency * util)
    memory_s = row.bytes / (gpu.mem_bw_gbps * 1e9 * gpu.bw_efficiency)
    work_s = max(compute_s, memory_s)
    return GpuKernel(layer, row.phase, row.op, row.count, row.flops, row.bytes,
                     max(work_s, gpu.launch_s), work_s < gpu.launch_s)


def _estimate(gpu: GpuSpec, kernels: tuple[GpuKernel, ...]) -> GpuEstimate:
    by_phase: dict[str, float] = {}
    by_layer: dict[str, float] = {}
    for k in kernels:
        by_phase[k.phase] = by_phase.get(k.phase, 0.0) + k.count * k.seconds
        by_layer[k.layer] = by_layer.get(k.layer, 0.0) + k.count * k.seconds
    seconds = sum(by_phase.values())
    power_w = gpu.power_fraction_of_tdp * gpu.tdp_w
    return GpuEstimate(
        name=gpu.name, seconds=seconds, energy_j=power_w * seconds, power_w=power_w,
        area_mm2=gpu.die_area_mm2, kernels_launched=sum(k.count for k in kernels),
        flops=sum(k.count * k.flops for k in kernels),
        bytes=sum(k.count * k.bytes for k in kernels),
        by_phase_s=by_phase, by_layer_s=by_layer, kernels=kernels)
