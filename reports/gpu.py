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

Kernels run one after another on one stream; time is their sum. The weight
update is the accelerator's own optimizer (plain SGD, ``optimizer="sgd"``)
unless Adam is asked for, so that the comparison runs the same algorithm.

Power depends on how busy the GPU is. Each kernel draws the board's idle
power plus a dynamic share proportional to its utilisation u — the larger of
its achieved fraction of peak FLOP/s and of peak DRAM bandwidth —
``P = idle_w + (tdp_w - idle_w) · u``; a launch-bound kernel (u ≈ 0) draws
about the idle power. Energy is Σ P · t over the kernels, reported as idle
(static) and dynamic parts and by phase. Every factor is a documented
assumption in ``GpuSpec`` / the constants below; docs/energy-area-gpu.md
gives their sources and derives the kernel counts.
"""

from __future__ import annotations

import dataclasses
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
    # PyTorch eager per-op CPU cost ~5-7 µs (pytorch/pytorch#41383); 2-20 µs is the
    # published range (docs/energy-area-gpu.md), swept by `validate --sensitivity`
    launch_s: float = 5e-6
    # board power with a CUDA context and no work: V100-SXM2 nvidia-smi reports
    # 53-66 W (NVIDIA/nvidia-docker#1076: 56.58 W; zai-org/GLM-130B#32: 53 W / 66 W)
    idle_w: float = 57.0


# V100 SXM2: NVIDIA V100 datasheet and Volta architecture whitepaper (2017); 80 SMs.
# A100 SXM4 40GB: NVIDIA A100 datasheet (19.5 TFLOPS FP32, 312 FP16 tensor, 1555 GB/s,
# 400 W) and Ampere whitepaper (826 mm², 7 nm, 108 SMs).
GPU_PRESETS: dict[str, GpuSpec] = {
    "v100": GpuSpec("NVIDIA V100 SXM2", 815.0, 15.7, 125.0, 900.0, 300.0, 80, 12),
    # A100 idle with a context: no measurement in hand; the V100's share of TDP (19 %)
    "a100": GpuSpec("NVIDIA A100 SXM4 40GB", 826.0, 19.5, 312.0, 1555.0, 400.0, 108, 7,
                    idle_w=76.0),
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
SGD_KERNELS = 1              # plain SGD, as the WUE: p.add_(grad, alpha=-lr), one kernel
SGD_TENSOR_ACCESSES = 3      # read w, read dW, write w
OPTIMIZERS = {"sgd": (SGD_KERNELS, SGD_TENSOR_ACCESSES, 2),    # (kernels, accesses, flops/w)
              "adam": (ADAM_KERNELS, ADAM_TENSOR_ACCESSES, 2)}
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
    power_w: float = 0.0    # board power while it runs

    @property
    def energy_j(self) -> float:
        return self.count * self.seconds * self.power_w


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
    idle_energy_j: float = 0.0            # idle_w × time: what the board draws doing nothing
    by_phase_energy_j: dict[str, float] = field(default_factory=dict)
    optimizer: str = "sgd"

    @property
    def dynamic_energy_j(self) -> float:
        return self.energy_j - self.idle_energy_j

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


def gpu_baseline(network: Network, timesteps: int, batch: int, preset: str = "v100",
                 optimizer: str = "sgd", launch_us: float | None = None) -> GpuEstimate:
    """Estimate one BPTT iteration (forward over T, backward over T, optimizer step).

    ``launch_us`` replaces the preset's launch floor (a sensitivity knob).
    """
    if timesteps < 1 or batch < 1:
        raise ValueError(f"timesteps {timesteps}, batch {batch}: expected >= 1")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"GPU optimizer {optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")
    gpu = get_gpu(preset)
    if launch_us is not None:
        if not launch_us > 0:
            raise ValueError(f"GPU launch {launch_us} µs: expected > 0")
        gpu = dataclasses.replace(gpu, launch_s=launch_us * 1e-6)
    rows = [(layer.name, row) for index, layer in enumerate(network.layers)
            for row in _layer_kernels(layer, index == 0, timesteps, batch, optimizer)]
    rows += [("loss", row) for row in _loss_kernels(network.layers[-1], timesteps, batch)]
    kernels = [_price(gpu, layer, row) for layer, row in rows if row.count > 0]
    return _estimate(gpu, tuple(kernels), optimizer)


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


def _layer_kernels(layer: LayerSpec, first: bool, steps: int, batch: int,
                   optimizer: str = "sgd") -> list[_Row]:
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
        kernels, accesses, flops_per_weight = OPTIMIZERS[optimizer]
        rows += [  # autograd sums the T per-step weight gradients: T-1 adds
            _Row("backward", "grad_accumulate", steps - 1, w, ELEMENTWISE_TENSORS * w_bytes),
            _Row("optimizer", optimizer, kernels, flops_per_weight * w, accesses * w_bytes),
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
    seconds = max(work_s, gpu.launch_s)
    return GpuKernel(layer, row.phase, row.op, row.count, row.flops, row.bytes,
                     seconds, work_s < gpu.launch_s, kernel_power_w(gpu, row.flops, row.bytes, seconds))


def kernel_power_w(gpu: GpuSpec, flops: float, moved_bytes: float, seconds: float) -> float:
    """Idle power plus the dynamic share of the busier resource's achieved utilisation."""
    compute_u = flops / (seconds * gpu.fp32_tflops * 1e12)
    memory_u = moved_bytes / (seconds * gpu.mem_bw_gbps * 1e9)
    utilisation = min(1.0, max(compute_u, memory_u))
    return gpu.idle_w + (gpu.tdp_w - gpu.idle_w) * utilisation


def _estimate(gpu: GpuSpec, kernels: tuple[GpuKernel, ...], optimizer: str) -> GpuEstimate:
    by_phase: dict[str, float] = {}
    by_layer: dict[str, float] = {}
    by_phase_j: dict[str, float] = {}
    for k in kernels:
        by_phase[k.phase] = by_phase.get(k.phase, 0.0) + k.count * k.seconds
        by_layer[k.layer] = by_layer.get(k.layer, 0.0) + k.count * k.seconds
        by_phase_j[k.phase] = by_phase_j.get(k.phase, 0.0) + k.energy_j
    seconds = sum(by_phase.values())
    energy_j = sum(by_phase_j.values())
    return GpuEstimate(
        name=gpu.name, seconds=seconds, energy_j=energy_j,
        power_w=energy_j / seconds if seconds > 0 else gpu.idle_w,
        idle_energy_j=gpu.idle_w * seconds, by_phase_energy_j=by_phase_j, optimizer=optimizer,
        area_mm2=gpu.die_area_mm2, kernels_launched=sum(k.count for k in kernels),
        flops=sum(k.count * k.flops for k in kernels),
        bytes=sum(k.count * k.bytes for k in kernels),
        by_phase_s=by_phase, by_layer_s=by_layer, kernels=kernels)
