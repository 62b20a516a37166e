"""The transaction-level model end to end on small traces (DESIGN §7 ladder, rungs 2–3)."""

from __future__ import annotations

import math

import pytest

from tlm.app.api import run_iterations
from tlm.config import config_from_dict
from tlm.engines.context import Context
from tlm.layout import Layout
from tlm.schedule import build_programs
from tlm.system import DeadlockError, simulate_iteration
from tlm.traceview import TraceView
from traces.reader import open_trace
from conftest import set_du
from traces.workloads import NeuronConstants, Workload

IDEAL_MEMORY = {"dram.model": "bandwidth", "dram.peak_gbps_per_channel": 1e12,
                "dram.latency_ns": 0.0, "pipeline.du_channel_tiles": 0,
                "sram.port_bytes_per_cycle": 1 << 30}
ENGINES = ("fe", "lif", "be", "wue")


def simulate(path, **overrides):
    cfg = config_from_dict(overrides)
    with open_trace(path) as reader:
        return simulate_iteration(reader, 0, cfg)


def cost_sum(path, **overrides) -> int:
    """Σ of every job's pure cost, computed without any simulation."""
    cfg = config_from_dict(overrides)
    with open_trace(path) as reader:
        meta = reader.meta
        ctx = Context(cfg, meta.network, meta.timesteps, meta.batch,
                      Layout(meta.network, meta.timesteps, meta.batch, cfg), TraceView(reader, 0))
        return sum(job.prepare().cost.cycles for _, jobs in build_programs(ctx).items()
                   for job in jobs)


def test_serial_ideal_memory_equals_sum_of_costs(tiny_trace):
    overrides = {**IDEAL_MEMORY, "pipeline.mode": "serial"}
    run = simulate(tiny_trace, **overrides)
    assert run.total_cycles == cost_sum(tiny_trace, **overrides)
    assert run.total_cycles == sum(run.activity[e]["busy"] for e in ENGINES)


def test_overlap_never_slower_than_serial_and_faster_with_real_work(tiny_trace):
    for memory in (IDEAL_MEMORY, {}):
        serial = simulate(tiny_trace, **memory, **{"pipeline.mode": "serial"})
        overlap = simulate(tiny_trace, **memory, **{"pipeline.mode": "overlap"})
        assert overlap.total_cycles < serial.total_cycles
        busiest = max(overlap.activity[e]["busy"] for e in ENGINES)
        assert overlap.total_cycles >= busiest


@pytest.mark.parametrize("mode", ["serial", "overlap"])
def test_activity_breakdown_adds_up_for_every_component(tiny_trace, mode):
    run = simulate(tiny_trace, **{"pipeline.mode": mode})
    for name, states in run.activity.items():
        assert sum(states.values()) == run.total_cycles, name
        assert min(states.values()) >= 0, (name, states)


def test_more_bandwidth_never_slower(tiny_trace):
    previous = math.inf
    for gbps in (0.5, 1, 2, 4, 8, 16, 32):
        run = simulate(tiny_trace, **{"dram.peak_gbps_per_channel": gbps, "dram.channels": 1})
        assert run.total_cycles <= previous
        previous = run.total_cycles


def test_halving_bandwidth_on_memory_bound_config_raises_memory_stalls(tiny_trace):
    slow = {"dram.preset": "lpddr4-3200", "dram.channels": 1}
    base = simulate(tiny_trace, **slow, **{"dram.peak_gbps_per_channel": 1.0})
    half = simulate(tiny_trace, **slow, **{"dram.peak_gbps_per_channel": 0.5})
    stall = lambda run: sum(run.activity[e]["stall_memory"] for e in ENGINES)
    assert stall(half) > stall(base)
    assert half.total_cycles > base.total_cycles


def test_all_zero_du_makes_backward_engine_nearly_free(trace_factory):
    path = trace_factory("zero-du", edit=set_du(False))
    run = simulate(path)
    assert run.activity["be"]["busy"] == 0
    assert sum(p.ops.get("be.mac", 0) for (n, phase), p in run.layers.items()
               if phase == "backward") == 0


def test_dense_du_gives_dense_macs_over_lanes(trace_factory):
    path = trace_factory("dense-du", workload="tiny-mlp", edit=set_du(True))
    lanes = 16
    run = simulate(path, **{"be.lanes": lanes})
    with open_trace(path) as reader:
        meta = reader.meta
    fc2 = meta.network.layers[1]
    dense_macs = fc2.in_neurons * fc2.out_neurons * meta.batch * meta.timesteps
    assert run.layers[(1, "backward")].ops["be.mac"] == dense_macs
    # 64 outputs over 16 lanes, 10 MACs each: perfectly balanced
    assert run.activity["be"]["busy"] == dense_macs // lanes


def test_buffer_smaller_than_one_tile_is_a_named_deadlock(trace_factory):
    wide = Workload("wide", "FC16", (16384,), 2, 2, NeuronConstants(), "none", "rate")
    path = trace_factory("wide", workload=wide, batch=2, timesteps=2)
    # one sample's input spikes are 2 KiB; the FE input buffer holds 1 KiB
    with pytest.raises(DeadlockError, match=r"fe\.load waits for 2048 B in fe\.input"):
        simulate(path, **{"fe.input_buffer_kib": 1})


def test_deterministic(tiny_trace):
    a = simulate(tiny_trace)
    b = simulate(tiny_trace)
    assert a.total_cycles == b.total_cycles
    assert a.activity == b.activity
    assert a.slices == b.slices


def test_refetch_when_luts_do_not_fit(tiny_trace):
    roomy = simulate(tiny_trace)
    cramped = simulate(tiny_trace, **{"fe.lut_buffer_kib": 1})
    refetch = lambda run: run.buffers["fe.input"].refetch_bytes
    assert refetch(cramped) > refetch(roomy) == 0
    assert cramped.dram.stats.bytes_read > roomy.dram.stats.bytes_read


def test_all_iterations_are_simulated(tmp_path):
    from traces.synthetic import generate_trace
    from traces.workloads import get_workload
    path = tmp_path / "two.h5"
    generate_trace(path, get_workload("tiny-mlp"), batch=2, timesteps=3, iterations=2)
    with open_trace(path) as reader:
        runs = run_iterations(reader, config_from_dict({}))
    assert len(runs) == 2 and all(r.total_cycles > 0 for r in runs)


def test_port_contention_shows_when_spill_reads_and_writes_share_a_narrow_port(tiny_trace):
    # the membrane buffer is too small: its loader re-reads the spilled state while its
    # storer writes the next spill through the same port
    narrow = simulate(tiny_trace, **{"sram.port_bytes_per_cycle": 2, "lif.membrane_buffer_kib": 1})
    wide = simulate(tiny_trace, **{"lif.membrane_buffer_kib": 1})
    assert narrow.buffers["lif.membrane"].port_wait_cycles > 10 * wide.buffers["lif.membrane"].port_wait_cycles
    assert narrow.buffers["fe.lut"].port_wait_cycles == 0  # one DMA only: nothing to contend with
    assert narrow.buffers["lif.membrane"].port_busy_cycles > wide.buffers["lif.membrane"].port_busy_cycles


def test_job_count_without_simulating_is_the_run_s(tiny_trace):
    from tlm.system import job_count
    cfg = config_from_dict({"fe.lut_buffer_kib": 1})  # tiled LUTs: more jobs
    with open_trace(tiny_trace) as reader:
        meta = reader.meta
    assert job_count(meta, cfg) == simulate(tiny_trace, **{"fe.lut_buffer_kib": 1}).jobs
