"""GPU baseline: dense FLOP counts, roofline behaviour, launch-bound small nets."""

from __future__ import annotations

import pytest

from reports.gpu import (GPU_PRESETS, LIF_BWD_KERNELS, LIF_FWD_KERNELS, dense_flops,
                         gemm_utilisation, get_gpu, gpu_baseline, kernel_power_w)
from traces.network import parse_network
from traces.workloads import WORKLOADS


def test_dense_flops_of_a_small_conv_match_a_hand_count():
    layer = parse_network("4C3", (2, 5, 5)).layers[0]
    # 4 out channels × 5×5 positions × (2 in channels × 3×3) MACs × 2 FLOPs × batch 3
    assert dense_flops(layer, batch=3) == 4 * 25 * 18 * 2 * 3


def test_dense_flops_of_fc_and_pool_match_a_hand_count():
    fc, = parse_network("FC10", (144,)).layers
    assert dense_flops(fc, batch=2) == 2 * 144 * 10 * 2
    pool, = parse_network("AP2", (3, 4, 4)).layers
    assert dense_flops(pool, batch=1) == 3 * 2 * 2 * 4


def test_kernel_count_of_a_one_layer_mlp():
    net = parse_network("FC10", (144,))
    est = gpu_baseline(net, timesteps=4, batch=2)
    per_step = 2 + LIF_FWD_KERNELS + LIF_BWD_KERNELS   # fwd GEMM, grad-weight GEMM (no grad-input)
    expected = 4 * per_step + 1 + (4 - 1) + 1 + 4 + 8  # state init, grad sums, SGD, loss
    assert est.kernels_launched == expected
    assert {k.op for k in est.kernels}.isdisjoint({"gemm_bwd_data"})
    adam = gpu_baseline(net, timesteps=4, batch=2, optimizer="adam")
    assert adam.kernels_launched == expected - 1 + 8    # Adam's 8 kernels in place of SGD's 1
    assert adam.seconds > est.seconds


def test_breakdowns_sum_to_the_total_time():
    w = WORKLOADS["mnist-cnn"]
    est = gpu_baseline(w.network, w.timesteps, w.batch)
    assert sum(est.by_phase_s.values()) == pytest.approx(est.seconds)
    assert sum(est.by_layer_s.values()) == pytest.approx(est.seconds)
    assert est.energy_j == pytest.approx(est.power_w * est.seconds)
    assert sum(est.by_phase_energy_j.values()) == pytest.approx(est.energy_j)
    assert est.idle_energy_j == pytest.approx(get_gpu("v100").idle_w * est.seconds)
    assert 0 < est.dynamic_energy_j < est.energy_j
    assert est.area_mm2 == 815.0


def test_power_follows_utilisation_between_idle_and_tdp():
    v100 = get_gpu("v100")
    tiny = gpu_baseline(*_tiny(), launch_us=5.0)   # launch-bound: about the idle power
    assert v100.idle_w <= tiny.power_w < v100.idle_w * 1.05
    big = WORKLOADS["cifar10-cifarnet"]
    busy = gpu_baseline(big.network, big.timesteps, big.batch)
    assert tiny.power_w < busy.power_w < v100.tdp_w
    assert kernel_power_w(v100, 15.7e12, 0.0, 1.0) == pytest.approx(v100.tdp_w)
    assert kernel_power_w(v100, 0.0, 0.0, 1.0) == pytest.approx(v100.idle_w)


def test_launch_cost_is_a_knob_and_moves_launch_bound_time():
    net, steps, batch = _tiny()
    slow = gpu_baseline(net, steps, batch, launch_us=20.0)
    fast = gpu_baseline(net, steps, batch, launch_us=2.0)
    assert slow.seconds == pytest.approx(slow.kernels_launched * 20e-6)  # all launch-bound
    assert fast.seconds < slow.seconds / 9
    with pytest.raises(ValueError, match="launch"):
        gpu_baseline(net, steps, batch, launch_us=0.0)


def _tiny():
    w = WORKLOADS["tiny-mlp"]
    return w.network, w.timesteps, w.batch


@pytest.mark.parametrize("name", ["tiny-cnn", "mnist-cnn"])
def test_time_grows_with_batch_and_timesteps(name):
    w = WORKLOADS[name]
    base = gpu_baseline(w.network, w.timesteps, w.batch).seconds
    assert gpu_baseline(w.network, w.timesteps, 4 * w.batch).seconds >= base
    assert gpu_baseline(w.network, 2 * w.timesteps, w.batch).seconds > base
    if name == "mnist-cnn":  # past the launch floor, batch really costs time
        assert gpu_baseline(w.network, w.timesteps, 4 * w.batch).seconds > 2 * base


def test_tiny_network_is_launch_bound():
    w = WORKLOADS["tiny-mlp"]
    est = gpu_baseline(w.network, w.timesteps, w.batch)
    assert est.launch_bound_fraction == pytest.approx(1.0)
    assert est.seconds == pytest.approx(est.kernels_launched * get_gpu("v100").launch_s)
    assert gpu_baseline(w.network, w.timesteps, 2 * w.batch).seconds == est.seconds


def test_large_network_is_not_launch_bound():
    w = WORKLOADS["cifar10-cifarnet"]
    assert gpu_baseline(w.network, w.timesteps, w.batch).launch_bound_fraction < 0.2


def test_small_gemms_leave_sms_idle():
    v100 = get_gpu("v100")
    assert gemm_utilisation(v100, 10, 64, 128) == pytest.approx(1 / 80)
    assert gemm_utilisation(v100, 4096, 4096, 4096) == 1.0


def test_a100_is_faster_than_v100_on_compute_bound_work():
    w = WORKLOADS["cifar10-cifarnet"]
    v100 = gpu_baseline(w.network, w.timesteps, w.batch, "v100")
    a100 = gpu_baseline(w.network, w.timesteps, w.batch, "a100")
    assert a100.seconds < v100.seconds
    assert a100.area_mm2 == GPU_PRESETS["a100"].die_area_mm2


def test_unknown_preset_and_bad_sizes_are_refused():
    net = parse_network("FC10", (144,))
    with pytest.raises(ValueError, match="preset"):
        gpu_baseline(net, 4, 2, "h100")
    with pytest.raises(ValueError, match="timesteps"):
        gpu_baseline(net, 0, 2)
