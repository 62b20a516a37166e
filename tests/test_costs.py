"""Engine cost functions against brute-force Python loops on tiny inputs.

The brute-force helpers below walk every output point, fan-in entry and
lane with plain loops and explicit index arithmetic; they share no code with
tlm.costs or tlm.functional, so a wrong box sum, padding, stride, grouping or
lane mapping shows up as a count mismatch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlm.config import BackwardEngineConfig, ForwardEngineConfig, LifConfig, WeightUpdateEngineConfig
from tlm.costs import (TileCost, backward_cost, lif_backward_cost, lif_forward_cost,
                       live_pattern_count, lookup_cost,
                       lut_build_cost, lut_storage_bytes, weight_update_cost)
from traces.network import LayerSpec, conv_out_size
from tlm.costs.forward import lookup_pes, lut_replicas


def conv(c_in: int, c_out: int, size: int, kernel: int, stride: int, padding: int) -> LayerSpec:
    out = conv_out_size(size, kernel, stride, padding)
    return LayerSpec("conv", "conv", (c_in, size, size), (c_out, out, out), kernel, stride, padding)


def fc(n_in: int, n_out: int) -> LayerSpec:
    return LayerSpec("fc", "fc", (n_in,), (n_out,))


def pool(channels: int, size: int, kernel: int) -> LayerSpec:
    out = conv_out_size(size, kernel, kernel, 0)
    return LayerSpec("pool", "avgpool", (channels, size, size), (channels, out, out), kernel, kernel)


# ---------------------------------------------------------------- brute force

def bf_points(layer: LayerSpec):
    """Output positions (oy, ox); fc has the single position (0, 0)."""
    if layer.kind == "fc":
        return [(0, 0)]
    return [(oy, ox) for oy in range(layer.out_shape[1]) for ox in range(layer.out_shape[2])]


def bf_fan_in(layer: LayerSpec, x: np.ndarray, point, channel: int = 0) -> list[int]:
    """One sample's fan-in values at an output point, in (kh, kw, c_in) order (pool: (kh, kw))."""
    if layer.kind == "fc":
        return [int(v) for v in x.reshape(-1)]
    values = []
    channels = range(layer.in_shape[0]) if layer.kind == "conv" else [channel]
    for kh in range(layer.kernel):
        for kw in range(layer.kernel):
            y = point[0] * layer.stride - layer.padding + kh
            z = point[1] * layer.stride - layer.padding + kw
            inside = 0 <= y < layer.in_shape[1] and 0 <= z < layer.in_shape[2]
            values += [int(x[c, y, z]) if inside else 0 for c in channels]
    return values


def bf_groups(values: list[int], k: int) -> list[list[int]]:
    return [values[i:i + k] for i in range(0, len(values), k)]


def bf_lookups(layer: LayerSpec, spikes: np.ndarray, k: int) -> tuple[int, int]:
    """(groups with a spike, groups with a zero pattern) over all points, one output channel."""
    nonzero = zero = 0
    channels = range(spikes.shape[1]) if layer.kind == "avgpool" else [0]
    for sample in spikes:
        for point in bf_points(layer):
            for c in channels:
                for group in bf_groups(bf_fan_in(layer, sample, point, c), k):
                    nonzero += any(group)
                    zero += not any(group)
    return nonzero, zero


def bf_covers(layer: LayerSpec, out_point, in_pixel) -> bool:
    dy = in_pixel[0] - (out_point[0] * layer.stride - layer.padding)
    dx = in_pixel[1] - (out_point[1] * layer.stride - layer.padding)
    return 0 <= dy < layer.kernel and 0 <= dx < layer.kernel


def bf_neuron_work(layer: LayerSpec, h: np.ndarray, du: np.ndarray, sparsity: str) -> np.ndarray:
    """MACs of every input neuron of ``layer`` (= output of the layer below), per sample."""
    work = np.zeros(h.shape, dtype=np.int64)
    for b in range(h.shape[0]):
        for index in np.ndindex(*layer.in_shape):
            window = []  # du values of every output reading this input
            for out_index in np.ndindex(*layer.out_shape):
                if layer.kind == "fc":
                    reads = True
                else:
                    same_channel = layer.kind == "conv" or out_index[0] == index[0]
                    reads = same_channel and bf_covers(layer, out_index[1:], index[1:])
                if reads:
                    window.append(bool(du[(b,) + out_index]))
            terms = sum(window) if sparsity in ("dual", "input") else len(window)
            gate = h[(b,) + index] if sparsity in ("dual", "output") else 1
            work[(b,) + index] = gate * terms
    return work


def bf_packed_cycles(h: np.ndarray, work: np.ndarray, lanes: int, sparsity: str,
                     macs: int) -> int:
    """Pairs (sample, neuron) with h = 1 (all, without output sparsity) dealt round-robin."""
    load = [0] * lanes
    dealt = 0
    for gate, value in zip(h.reshape(-1), work.reshape(-1)):
        if sparsity in ("dual", "output") and not gate:
            continue
        load[dealt % lanes] += int(value)
        dealt += 1
    return -(-max(load) // macs)


def bf_cycles(layer: LayerSpec, work: np.ndarray, lanes: int, mapping: str, macs: int) -> int:
    cycles = 0
    for sample in work:
        load = [0] * lanes
        for flat, value in enumerate(sample.reshape(-1)):
            if mapping == "neuron" or layer.kind == "fc":
                lane = flat % lanes
            else:
                lane = (flat // math.prod(layer.in_shape[1:])) % lanes  # channel of flat
            load[lane] += int(value)
        cycles += -(-max(load) // macs)
    return cycles


# ---------------------------------------------------------------- TileCost

def test_tile_costs_add_and_sum() -> None:
    a = TileCost(3, {"add": 2}, {"add": 1})
    b = TileCost(4, {"add": 5, "lut_read": 1}, {})
    total = sum([a, b])
    assert total == TileCost(7, {"add": 7, "lut_read": 1}, {"add": 1})
    assert total.op("mac") == 0 and total.skip("add") == 1
    with pytest.raises(ValueError):
        TileCost(-1)


# ---------------------------------------------------------------- Forward Engine

def test_lut_build_counts_short_last_group() -> None:
    layer = fc(10, 3)  # fan-in 10, k = 4: groups of 4, 4, 2
    cost = lut_build_cost(layer, ForwardEngineConfig(lut_k=4, pes=3), 3)  # a PE per channel
    assert cost.op("lut_write") == 3 * (15 + 15 + 3)
    assert cost.op("add") == 3 * (11 + 11 + 1)
    assert cost.op("weight_read") == 30
    assert cost.cycles == math.ceil(99 / 3)


def test_lut_copies_for_spare_pes_are_written_stored_and_bounded_by_the_buffer() -> None:
    layer = fc(10, 3)  # 3 channels x 3 groups = 9 tables; 27 PEs: each table copied 3 times
    cfg = ForwardEngineConfig(lut_k=4, pes=27)
    assert lut_replicas(layer, cfg, 3) == 3 and lookup_pes(layer, cfg, 3) == 27
    cost = lut_build_cost(layer, cfg, 3)
    assert cost.op("lut_write") == 3 * 3 * (15 + 15 + 3) and cost.op("add") == 3 * 23
    one_copy = lut_storage_bytes(layer, cfg, 3)  # 3 channels x 3 groups x 16 entries x 2 B
    tight = ForwardEngineConfig(lut_k=4, pes=27, lut_buffer_kib=1)  # 1 KiB: 3 copies of 288 B
    assert one_copy == 288 and lut_replicas(layer, tight, 3) == 3
    tighter = ForwardEngineConfig(lut_k=4, pes=4096, lut_buffer_kib=1)
    assert lut_replicas(layer, tighter, 3) == 1024 // 288   # only what fits: fewer PEs work
    spikes = np.ones((2, 10), bool)
    slow = lookup_cost(layer, spikes, tighter, 3)
    assert slow.cycles == math.ceil(slow.op("lut_read") / (9 * (1024 // 288)))
    wide = conv(64, 128, 8, 3, 1, 1)  # 128 channels x 144 groups >= 4096 tables: no copies
    assert lut_replicas(wide, ForwardEngineConfig(pes=4096), 128) == 1
    assert lookup_pes(wide, ForwardEngineConfig(pes=4096), 128) == 4096


def test_lut_build_pooling_is_one_tiny_table() -> None:
    cfg = ForwardEngineConfig(lut_k=4)
    cost = lut_build_cost(pool(64, 8, 2), cfg, 64)  # one table, a copy per PE
    assert cost.op("lut_write") == 15 * cfg.pes and cost.op("add") == 11
    assert lut_build_cost(fc(10, 3), ForwardEngineConfig(mode="accumulate"), 3) == TileCost()


def test_lut_storage_is_two_to_k_over_k_times_weights() -> None:
    layer = conv(8, 4, 6, 3, 1, 1)  # fan-in 72, divisible by k = 4
    lut = lut_storage_bytes(layer, ForwardEngineConfig(lut_k=4, lut_entry_bits=16), 4)
    weights = lut_storage_bytes(layer, ForwardEngineConfig(mode="accumulate", weight_bits=16), 4)
    assert weights == 4 * 72 * 2 and lut == weights * 16 // 4


FE_LAYERS = [
    fc(11, 3),
    conv(4, 3, 6, 3, 1, 1),   # k = 2, 4 divide C_in (box-sum path); k = 3 straddles pixels
    conv(4, 2, 7, 3, 2, 1),
    conv(3, 2, 8, 2, 2, 0),
    conv(5, 2, 6, 3, 2, 1),   # groups inside a pixel start at a different phase in each tap
    conv(7, 2, 5, 2, 1, 1),
    pool(3, 5, 2),
]


@pytest.mark.parametrize("layer", FE_LAYERS, ids=lambda l: f"{l.kind}{l.in_shape}s{l.stride}")
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_lookup_counts_match_brute_force(layer: LayerSpec, k: int) -> None:
    rng = np.random.default_rng(k)
    spikes = rng.random((3,) + layer.in_shape) < 0.15
    channels = layer.in_shape[0] if layer.kind == "avgpool" else layer.out_channels
    fan_out = 1 if layer.kind == "avgpool" else channels
    width = min(k, layer.fan_in) if layer.kind == "avgpool" else k
    nonzero, zero = bf_lookups(layer, spikes, width)
    cfg = ForwardEngineConfig(lut_k=k, pes=5)
    cost = lookup_cost(layer, spikes, cfg, channels)
    assert cost.op("lut_read") == nonzero * fan_out == cost.op("add")
    assert cost.skip("lut_read") == zero * fan_out  # every zero pattern found is skipped
    assert cost.cycles == math.ceil(nonzero * fan_out / lookup_pes(layer, cfg, channels))
    dense = lookup_cost(layer, spikes, ForwardEngineConfig(lut_k=k, skip_zero_patterns=False), channels)
    assert dense.op("lut_read") == (nonzero + zero) * fan_out and dense.skip("lut_read") == 0


@pytest.mark.parametrize("layer", FE_LAYERS, ids=lambda l: f"{l.kind}{l.in_shape}s{l.stride}")
def test_accumulate_mode_counts_spiking_inputs(layer: LayerSpec) -> None:
    rng = np.random.default_rng(7)
    spikes = rng.random((2,) + layer.in_shape) < 0.3
    channels = layer.in_shape[0] if layer.kind == "avgpool" else layer.out_channels
    fan_out = 1 if layer.kind == "avgpool" else channels
    ones, _ = bf_lookups(layer, spikes, 1)       # groups of 1 = individual spiking inputs
    cost = lookup_cost(layer, spikes, ForwardEngineConfig(mode="accumulate", pes=4), channels)
    assert cost.op("add") == ones * fan_out == cost.op("weight_read")
    assert cost.cycles == math.ceil(ones * fan_out / 4)
    assert cost.op("lut_read") == 0


def test_lookup_accepts_flattened_spikes_and_rejects_wrong_shapes() -> None:
    layer = conv(4, 3, 6, 3, 1, 1)
    spikes = np.random.default_rng(0).random((2, 4, 6, 6)) < 0.2
    cfg = ForwardEngineConfig()
    assert lookup_cost(layer, spikes.reshape(2, -1), cfg, 3) == lookup_cost(layer, spikes, cfg, 3)
    with pytest.raises(ValueError, match="input spikes"):
        lookup_cost(layer, spikes[:, :3], cfg, 3)


# ---------------------------------------------------------------- Backward Engine

BE_LAYERS = [
    fc(6, 4),
    conv(3, 2, 5, 3, 1, 1),
    conv(2, 3, 6, 3, 2, 1),
    conv(2, 2, 7, 2, 2, 0),   # 7x7 with a 2x2 stride-2 window: the last row has no parent
    pool(2, 5, 2),
]


@pytest.mark.parametrize("layer", BE_LAYERS, ids=lambda l: f"{l.kind}{l.in_shape}s{l.stride}")
@pytest.mark.parametrize("sparsity", ["dual", "input", "output", "dense"])
@pytest.mark.parametrize("mapping", ["packed", "neuron", "channel"])
def test_backward_matches_brute_force(layer: LayerSpec, sparsity: str, mapping: str) -> None:
    rng = np.random.default_rng(3)
    h = rng.random((2,) + layer.in_shape) < 0.4
    du = rng.random((2,) + layer.out_shape) < 0.3
    cfg = BackwardEngineConfig(sparsity=sparsity, lanes=3, lane_mapping=mapping,
                               macs_per_lane_per_cycle=2)
    work = bf_neuron_work(layer, h, du, sparsity)
    dense = bf_neuron_work(layer, h, du, "dense")
    cost = backward_cost(layer, h, du, cfg)
    assert cost.op("mac") == work.sum()
    assert cost.skip("mac") == dense.sum() - work.sum()
    expected = (bf_packed_cycles(h, work, 3, sparsity, 2) if mapping == "packed"
                else bf_cycles(layer, work, 3, mapping, 2))
    assert cost.cycles == expected


def test_backward_all_zero_du_is_free() -> None:
    layer = conv(4, 8, 6, 3, 1, 1)
    h = np.ones((2,) + layer.in_shape, bool)
    cost = backward_cost(layer, h, np.zeros((2,) + layer.out_shape, bool), BackwardEngineConfig())
    assert cost.cycles == 0 and cost.op("mac") == 0 and cost.skip("mac") > 0


def test_backward_dense_data_costs_dense_macs() -> None:
    layer = conv(4, 8, 6, 3, 1, 1)
    h = np.ones((2,) + layer.in_shape, bool)
    du = np.ones((2,) + layer.out_shape, bool)
    taps = sum(bf_covers(layer, o, i) for o in np.ndindex(6, 6) for i in np.ndindex(6, 6))
    cost = backward_cost(layer, h, du, BackwardEngineConfig())
    assert cost.op("mac") == 2 * taps * 4 * 8 and cost.skip("mac") == 0


def test_backward_balanced_dense_fc_takes_work_over_lanes() -> None:
    layer = fc(64, 10)  # 64 neurons over 16 lanes: 4 each, same work
    h = np.ones((3, 64), bool)
    du = np.ones((3, 10), bool)
    cost = backward_cost(layer, h, du, BackwardEngineConfig(lanes=16))
    assert cost.op("mac") == 3 * 64 * 10
    assert cost.cycles == 3 * 64 * 10 // 16


def test_packed_lanes_save_cycles_in_proportion_to_the_masks() -> None:
    """An fc layer with fewer inputs than lanes: static mapping gains nothing from h = 0,
    packing deals only the h = 1 pairs, so a quarter of the mask costs a quarter of the time."""
    layer = fc(64, 10)
    du = np.ones((8, 10), bool)
    full = np.ones((8, 64), bool)
    quarter = np.zeros((8, 64), bool)
    quarter[:, ::4] = True
    for mapping, ratio in (("packed", 0.25), ("neuron", 1.0)):
        cfg = BackwardEngineConfig(lanes=128, lane_mapping=mapping)
        dense, sparse = backward_cost(layer, full, du, cfg), backward_cost(layer, quarter, du, cfg)
        assert sparse.cycles == pytest.approx(ratio * dense.cycles, rel=0.05)


def test_backward_imbalance_one_busy_lane_takes_all_the_work() -> None:
    layer = fc(16, 5)
    h = np.zeros((2, 16), bool)
    h[:, [0, 4, 8, 12]] = True   # every active neuron maps to lane 0 of 4
    du = np.ones((2, 5), bool)
    cost = backward_cost(layer, h, du, BackwardEngineConfig(lanes=4, lane_mapping="neuron"))
    assert cost.op("mac") == 2 * 4 * 5
    assert cost.cycles == cost.op("mac")   # not total / lanes
    packed = backward_cost(layer, h, du, BackwardEngineConfig(lanes=4))
    assert packed.cycles == cost.op("mac") // 4   # packing deals the 8 active pairs evenly


# ---------------------------------------------------------------- Weight Update Engine

WU_LAYERS = [fc(7, 3), conv(3, 4, 5, 3, 1, 1), conv(2, 3, 6, 3, 2, 1), conv(4, 2, 6, 2, 2, 0)]


def bf_weight_update(layer: LayerSpec, du: np.ndarray, spikes: np.ndarray) -> tuple[int, int]:
    """(LUTs built, lookups) with both skips on, from explicit per-point loops."""
    tables = lookups = 0
    for b in range(du.shape[1]):
        for point in bf_points(layer):
            if layer.kind == "fc":
                live_c = sum(du[:, b, c].any() for c in range(layer.out_channels))
            else:
                live_c = sum(du[:, b, c, point[0], point[1]].any() for c in range(layer.out_channels))
            histories = zip(*(bf_fan_in(layer, spikes[t, b], point) for t in range(du.shape[0])))
            live_i = sum(any(history) for history in histories)
            tables += live_c
            lookups += live_c * live_i
    return tables, lookups


@pytest.mark.parametrize("layer", WU_LAYERS, ids=lambda l: f"{l.kind}{l.in_shape}s{l.stride}")
@pytest.mark.parametrize("steps", [1, 3, 4])
def test_weight_update_matches_brute_force(layer: LayerSpec, steps: int) -> None:
    rng = np.random.default_rng(steps)
    du = rng.random((steps, 2) + layer.out_shape) < 0.15
    spikes = rng.random((steps, 2) + layer.in_shape) < 0.1
    cfg = WeightUpdateEngineConfig(lut_k=4, pes=7)
    tables, lookups = bf_weight_update(layer, du, spikes)
    cost = weight_update_cost(layer, du, spikes, cfg)
    entries = 2 ** steps - 1
    copies = 1 if tables == 0 else max(1, min(7 // tables, -(-lookups // tables)))
    assert cost.op("lut_write") == copies * tables * entries
    assert cost.op("lut_read") == lookups
    assert cost.op("add") == tables * (entries - steps) + lookups
    assert cost.cycles == math.ceil((copies * tables * entries + lookups) / 7)
    all_lookups = 2 * layer.out_positions * layer.out_channels * layer.fan_in
    assert cost.skip("lut_read") == all_lookups - lookups
    dense = weight_update_cost(layer, du, spikes, WeightUpdateEngineConfig(
        skip_zero_groups=False, skip_zero_patterns=False))
    assert dense.op("lut_read") == all_lookups and dense.skip("lut_read") == 0


@pytest.mark.parametrize("layer", WU_LAYERS, ids=lambda l: f"{l.kind}{l.in_shape}s{l.stride}")
def test_weight_update_accumulate_counts_pairs(layer: LayerSpec) -> None:
    rng = np.random.default_rng(5)
    du = rng.random((3, 2) + layer.out_shape) < 0.3
    spikes = rng.random((3, 2) + layer.in_shape) < 0.3
    pairs = sum(bf_weight_update(layer, du[t:t + 1], spikes[t:t + 1])[1] for t in range(3))
    cost = weight_update_cost(layer, du, spikes, WeightUpdateEngineConfig(mode="accumulate", pes=3))
    assert cost.op("add") == pairs and cost.cycles == math.ceil(pairs / 3)


def test_weight_update_zero_du_and_pooling_cost_nothing() -> None:
    layer = conv(3, 4, 5, 3, 1, 1)
    spikes = np.ones((4, 2) + layer.in_shape, bool)
    cost = weight_update_cost(layer, np.zeros((4, 2) + layer.out_shape, bool), spikes,
                              WeightUpdateEngineConfig())
    assert cost.cycles == 0 and cost.op("lut_read") == 0 and cost.skip("lut_write") > 0
    p = pool(2, 4, 2)
    assert weight_update_cost(p, np.ones((2, 1, 2, 2, 2), bool), np.ones((2, 1, 2, 4, 4), bool),
                              WeightUpdateEngineConfig()) == TileCost()


def test_weight_update_rejects_group_longer_than_k() -> None:
    layer = fc(4, 2)
    with pytest.raises(ValueError, match="1..4"):
        weight_update_cost(layer, np.ones((5, 1, 2), bool), np.ones((5, 1, 4), bool),
                           WeightUpdateEngineConfig(lut_k=4))


# ---------------------------------------------------------------- LIF

def test_lif_costs() -> None:
    cfg = LifConfig(lanes=64)
    forward = lif_forward_cost(100, 3, cfg)
    assert forward.cycles == math.ceil(300 / 64)
    assert forward.ops == {"mul": 300, "add": 300, "select": 300, "compare": 900,
                           "membrane_read": 300, "membrane_write": 300}
    backward = lif_backward_cost(100, 3, cfg)
    assert backward.cycles == forward.cycles and backward.op("select") == 600


# ---------------------------------------------------------------- properties

@st.composite
def conv_geometry(draw):
    kernel = draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel - 1))
    layer = conv(draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(kernel, 6)),
                 kernel, draw(st.integers(1, 3)), padding)
    return layer, draw(st.integers(1, 5)), draw(st.integers(0, 10_000))


@settings(max_examples=25, deadline=None)
@given(conv_geometry())
def test_conv_costs_match_brute_force_on_random_geometry(case) -> None:
    layer, k, seed = case
    rng = np.random.default_rng(seed)
    spikes = rng.random((2,) + layer.in_shape) < 0.3
    nonzero, zero = bf_lookups(layer, spikes, k)
    cost = lookup_cost(layer, spikes, ForwardEngineConfig(lut_k=k), layer.out_channels)
    assert (cost.op("lut_read"), cost.skip("lut_read")) == (nonzero * layer.out_channels,
                                                           zero * layer.out_channels)
    h = rng.random((2,) + layer.in_shape) < 0.5
    du = rng.random((2,) + layer.out_shape) < 0.5
    work = bf_neuron_work(layer, h, du, "dual")
    cost = backward_cost(layer, h, du, BackwardEngineConfig(lanes=4, lane_mapping="neuron"))
    assert cost.op("mac") == work.sum() and cost.cycles == bf_cycles(layer, work, 4, "neuron", 1)
    packed = backward_cost(layer, h, du, BackwardEngineConfig(lanes=4))
    assert packed.cycles == bf_packed_cycles(h, work, 4, "dual", 1)


# ---------------------------------------------------------------- regression: fast paths

@st.composite
def any_layer(draw):
    """A small layer of any kind with awkward geometry: k vs C_in, stride, padding, crop."""
    kind = draw(st.sampled_from(["fc", "conv", "pool"]))
    if kind == "fc":
        return fc(draw(st.integers(1, 40)), draw(st.integers(1, 4)))
    kernel = draw(st.integers(1, 4))
    size = draw(st.integers(kernel, 7))
    if kind == "pool":
        return pool(draw(st.integers(1, 3)), size, kernel)
    return conv(draw(st.integers(1, 9)), draw(st.integers(1, 3)), size, kernel,
                draw(st.integers(1, 3)), draw(st.integers(0, kernel - 1)))


@settings(max_examples=60, deadline=None)
@given(any_layer(), st.integers(1, 9), st.integers(0, 10_000), st.sampled_from([0.05, 0.3, 0.9]))
def test_lookup_counts_match_brute_force_on_any_geometry(layer, k, seed, rate) -> None:
    rng = np.random.default_rng(seed)
    spikes = rng.random((2,) + layer.in_shape) < rate
    channels = layer.in_shape[0] if layer.kind == "avgpool" else layer.out_channels
    fan_out = 1 if layer.kind == "avgpool" else channels
    width = min(k, layer.fan_in) if layer.kind == "avgpool" else k
    nonzero, zero = bf_lookups(layer, spikes, width)
    cost = lookup_cost(layer, spikes, ForwardEngineConfig(lut_k=k), channels)
    assert (cost.op("lut_read"), cost.skip("lut_read")) == (nonzero * fan_out, zero * fan_out)
    ones, _ = bf_lookups(layer, spikes, 1)
    accumulate = lookup_cost(layer, spikes, ForwardEngineConfig(mode="accumulate"), channels)
    assert accumulate.op("add") == ones * fan_out
    live = live_pattern_count(layer, spikes, ForwardEngineConfig(lut_k=k), channels)
    assert lookup_cost(layer, spikes, ForwardEngineConfig(lut_k=k), channels, live) == cost
    # 0/1 integers count like bools (the fast paths read spikes byte-wise)
    assert lookup_cost(layer, spikes.astype(np.int64), ForwardEngineConfig(lut_k=k), channels) == cost


@settings(max_examples=40, deadline=None)
@given(any_layer(), st.integers(1, 7), st.sampled_from(["packed", "neuron", "channel"]),
       st.sampled_from(["dual", "input", "output", "dense"]), st.integers(0, 10_000))
def test_backward_matches_brute_force_on_any_geometry(layer, lanes, mapping, sparsity, seed) -> None:
    rng = np.random.default_rng(seed)
    h = rng.random((2,) + layer.in_shape) < 0.5
    du = rng.random((2,) + layer.out_shape) < 0.4
    cfg = BackwardEngineConfig(sparsity=sparsity, lanes=lanes, lane_mapping=mapping,
                               macs_per_lane_per_cycle=2)
    work = bf_neuron_work(layer, h, du, sparsity)
    dense = bf_neuron_work(layer, h, du, "dense")
    cost = backward_cost(layer, h, du, cfg)
    assert cost.op("mac") == work.sum() and cost.skip("mac") == dense.sum() - work.sum()
    expected = (bf_packed_cycles(h, work, lanes, sparsity, 2) if mapping == "packed"
                else bf_cycles(layer, work, lanes, mapping, 2))
    assert cost.cycles == expected


def test_backward_lane_folding_with_many_channels_per_lane_period() -> None:
    layer = conv(12, 2, 4, 3, 1, 1)   # 16 pixels, 8 lanes: lanes repeat every channel
    rng = np.random.default_rng(11)
    h = rng.random((3,) + layer.in_shape) < 0.5
    du = rng.random((3,) + layer.out_shape) < 0.5
    for lanes in (3, 8, 32, 48):      # period 3 (16 % 3 = 1), 1, 2 and 3 channels
        work = bf_neuron_work(layer, h, du, "dual")
        cost = backward_cost(layer, h, du, BackwardEngineConfig(lanes=lanes, lane_mapping="neuron"))
        assert cost.cycles == bf_cycles(layer, work, lanes, "neuron", 1)


@settings(max_examples=30, deadline=None)
@given(any_layer(), st.integers(1, 4), st.integers(0, 10_000))
def test_weight_update_matches_brute_force_on_any_geometry(layer, steps, seed) -> None:
    if not layer.has_weights:
        return
    rng = np.random.default_rng(seed)
    du = rng.random((steps, 2) + layer.out_shape) < 0.3
    spikes = rng.random((steps, 2) + layer.in_shape) < 0.2
    tables, lookups = bf_weight_update(layer, du, spikes)
    cfg = WeightUpdateEngineConfig(lut_k=4)
    cost = weight_update_cost(layer, du, spikes, cfg)
    copies = 1 if tables == 0 else max(1, min(cfg.pes // tables, -(-lookups // tables)))
    assert (cost.op("lut_write"), cost.op("lut_read")) == (copies * tables * (2 ** steps - 1),
                                                           lookups)
