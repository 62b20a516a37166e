"""SRAM buffer sizes from the working sets of the reference workloads (docs/design-point.md).

Every buffer but the FE's LUT storage (which the design-point search grows
like a compute unit, because its size sets how many PEs can look up at once)
is sized here, from the networks' shapes, batch and the engines' own tiling
rules — no simulation, no trace data:

* a **tile buffer** holds the tile its engine reserves for one timestep of
  the *whole batch* of a layer, ``pipeline.prefetch_tiles`` deep (double
  buffering), counted as the engines' chunking counts it (``tlm.engines``:
  bit-packed spikes and masks, du at its dense bound, since the chunks are
  cut before the trace is read);
* a **resident buffer** holds one layer's state for a whole stage: W in the
  BE, dW in the WUE, the whole batch's membrane potentials in the LIF unit;
* each buffer is the largest such working set over every layer of every
  reference workload, rounded up to a power of two KiB (SRAM macros come in
  power-of-two sizes), and at most ``cap_kib``;
* the cap is how the die budget is met: the largest power of two for which
  the die, with every buffer so sized and the compute units at the search's
  starting point, fits the budget. A layer whose working set exceeds the cap
  is tiled over samples (tile buffers) or re-streamed / spilled (resident
  buffers); ``report_rows`` says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from reports.area import area_model
from tlm.config import SystemConfig
from tlm.layout import Layout, packed_bytes
from traces.workloads import Workload, get_workload

KIB = 1024
MAX_CAP_KIB = 1 << 20   # 1 GiB: far above any die; the cap search starts below it

# buffer knob -> (kind, what it holds), as docs/design-point.md names them
WORKING_SETS: dict[str, tuple[str, str]] = {
    "fe.input_buffer_kib": ("tile", "input spikes of one layer"),
    "be.weight_buffer_kib": ("resident", "W of one layer"),
    "be.input_buffer_kib": ("tile", "du[n] (dense bound) and h[n-1] of one stage"),
    "wue.grad_buffer_kib": ("resident", "dW accumulators of one layer"),
    "wue.input_buffer_kib": ("tile", "lut_k timesteps of input spikes (and du for layer 0)"),
    "wue.output_buffer_kib": ("tile", "the write-back of one apply tile (= wue.input)"),
    "lif.membrane_buffer_kib": ("resident", "membrane state of one layer"),
    "lif.input_buffer_kib": ("tile", "o/h tiles the backward recursion reads"),
    "lif.output_buffer_kib": ("tile", "o/h (forward) and du (backward) tiles written"),
}

Need = Callable[[Layout, SystemConfig], Iterable[tuple[str, int]]]   # (layer name, bytes)


def _layers(layout: Layout):
    return list(enumerate(layout.network.layers))


def _fe_input(lay: Layout, cfg: SystemConfig):
    for n, layer in _layers(lay):
        yield layer.name, lay.batch * packed_bytes(layer.in_neurons)


def _be_weight(lay: Layout, cfg: SystemConfig):
    for n, layer in _layers(lay):
        yield layer.name, lay.weights(n)[1]


def _be_input(lay: Layout, cfg: SystemConfig):
    for n, layer in _layers(lay)[1:]:
        yield layer.name, lay.batch * (lay.du_sample_bytes(n, layer.out_neurons)
                                       + packed_bytes(layer.in_neurons))


def _wue_grad(lay: Layout, cfg: SystemConfig):
    for n, layer in _layers(lay):
        yield layer.name, math.ceil(layer.weight_count * cfg.be.grad_bits / 8)


def _wue_input(lay: Layout, cfg: SystemConfig):
    k = cfg.wue.lut_k
    for n, layer in _layers(lay):
        if not layer.has_weights:
            continue
        du = lay.du_sample_bytes(0, layer.out_neurons) if n == 0 else 0  # layer 0: not forwarded
        yield layer.name, lay.batch * k * (packed_bytes(layer.in_neurons) + du)


def _lif_membrane(lay: Layout, cfg: SystemConfig):
    for n, layer in _layers(lay):
        yield layer.name, math.ceil(lay.batch * layer.out_neurons * cfg.lif.membrane_bits / 8)


def _lif_input(lay: Layout, cfg: SystemConfig):
    layers = _layers(lay)
    for n, layer in layers[1:]:
        yield layer.name, lay.batch * packed_bytes(layer.in_neurons)
    last = layers[-1][1]
    yield f"{last.name} (loss)", lay.batch * 2 * packed_bytes(last.out_neurons)


def _lif_output(lay: Layout, cfg: SystemConfig):
    layers = _layers(lay)
    for n, layer in layers:
        yield layer.name, lay.batch * 2 * packed_bytes(layer.out_neurons)
    for n, layer in layers[1:]:
        yield f"{layer.name} (du[{n - 1}])", lay.batch * lay.du_sample_bytes(n - 1, layer.in_neurons)
    last_n, last = layers[-1]
    yield f"{last.name} (loss)", lay.batch * lay.du_sample_bytes(last_n, last.out_neurons)


NEEDS: dict[str, Need] = {
    "fe.input_buffer_kib": _fe_input, "be.weight_buffer_kib": _be_weight,
    "be.input_buffer_kib": _be_input, "wue.grad_buffer_kib": _wue_grad,
    "wue.input_buffer_kib": _wue_input, "wue.output_buffer_kib": _wue_input,
    "lif.membrane_buffer_kib": _lif_membrane, "lif.input_buffer_kib": _lif_input,
    "lif.output_buffer_kib": _lif_output,
}


@dataclass(frozen=True)
class WorkingSet:
    knob: str
    workload: str
    layer: str
    need_bytes: int          # the largest working set (tile buffers: times the prefetch depth)
    size_kib: int            # the buffer: need rounded up to a power of two, capped
    over_cap: tuple[str, ...]  # "workload/layer" whose working set does not fit the buffer


def pow2_kib(need_bytes: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1, math.ceil(need_bytes / KIB)))))


def working_sets(workloads: Iterable[Workload], cfg: SystemConfig, cap_kib: int) -> list[WorkingSet]:
    """Per buffer knob: its largest working set over the workloads' layers, and its size."""
    layouts = [(w.name, Layout(w.network, w.timesteps, w.batch, cfg)) for w in workloads]
    rows = []
    for knob, need in NEEDS.items():
        depth = cfg.pipeline.prefetch_tiles if WORKING_SETS[knob][0] == "tile" else 1
        sets = [(name, layer, depth * size) for name, lay in layouts for layer, size in need(lay, cfg)]
        name, layer, largest = max(sets, key=lambda s: s[2])
        size = min(pow2_kib(largest), cap_kib)
        over = tuple(f"{w}/{l}" for w, l, b in sets if b > size * KIB)
        rows.append(WorkingSet(knob, name, layer, largest, size, over))
    return rows


def sized(cfg: SystemConfig, rows: Iterable[WorkingSet]) -> SystemConfig:
    from tlm.app.validate import with_overrides
    return with_overrides(cfg, {r.knob: r.size_kib for r in rows})


def size_buffers(start: SystemConfig, budget_mm2: float,
                 workload_names: Iterable[str]) -> tuple[SystemConfig, int, list[WorkingSet]]:
    """``start`` with every buffer sized by the rule; returns (config, cap KiB, rows).

    The cap is halved from ``MAX_CAP_KIB`` until the die at ``start``'s compute
    fits ``budget_mm2`` (at the smallest cap, 1 KiB, the search stops anyway).
    """
    workloads = [get_workload(n) for n in workload_names]
    cap = MAX_CAP_KIB
    while True:
        rows = working_sets(workloads, start, cap)
        cfg = sized(start, rows)
        if area_model(cfg).total_mm2 <= budget_mm2 or cap == 1:
            return cfg, cap, rows
        cap //= 2


def report_rows(rows: Iterable[WorkingSet]) -> list[str]:
    """One line per buffer: size, the working set that named it, what does not fit."""
    lines = []
    for r in rows:
        kind, what = WORKING_SETS[r.knob]
        over = f"; over it: {', '.join(r.over_cap)}" if r.over_cap else ""
        lines.append(f"  {r.knob:24} {r.size_kib:>6} KiB  {kind:8} {what}: largest "
                     f"{r.need_bytes / KIB:,.0f} KiB ({r.workload} {r.layer}){over}")
    return lines


def fixed_sizes(rows: Iterable[WorkingSet]) -> Mapping[str, int]:
    return {r.knob: r.size_kib for r in rows}
