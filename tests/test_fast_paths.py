"""Waits that skip SimPy's event round trip (memory/sram.py, tlm/channel.py, tlm/engines/base.py)
change nothing but the number of events: the same runs with every skip turned off give the
same results, slice for slice, and random mixes of buffer and channel requests happen in the
same order at the same cycles."""

from __future__ import annotations

import json

import pytest
import simpy
from hypothesis import given, settings, strategies as st

import memory.sram
import tlm.channel
import tlm.engines.base
from memory.sram import SramBuffer
from reports.export import results_json
from reports.results import build_results
from tlm.app.api import run_iterations
from tlm.channel import Channel
from tlm.config import config_from_dict
from traces.reader import open_trace


def no_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every wait takes its event, as before the skips existed."""
    for module in (memory.sram, tlm.channel, tlm.engines.base):
        monkeypatch.setattr(module, "nothing_else_due", lambda env: False)
    monkeypatch.setattr(tlm.engines.base, "completes_later", lambda event, now: False)


def simulate(trace, overrides: dict) -> tuple[dict, list, int]:
    cfg = config_from_dict(overrides)
    with open_trace(trace) as reader:
        runs = run_iterations(reader, cfg)
        results = json.loads(results_json(build_results(reader.meta, cfg, runs)))
    events = results.pop("simulator")["events"]
    results.pop("producer")
    return results, [list(run.slices) for run in runs], events


@pytest.mark.parametrize("overrides", [
    {},
    {"dram.preset": "ddr4-3200", "dram.channels": 1},
    {"pipeline.mode": "serial"},
    {"sram.port_bytes_per_cycle": 4},              # the ports queue: contention counted
    {"dram.model": "controller"},
    {"dram.model": "bandwidth", "pipeline.prefetch_tiles": 1},
    {"fe.input_buffer_kib": 4, "lif.output_buffer_kib": 4, "pipeline.du_channel_tiles": 1},
])
def test_skipping_round_trips_changes_no_result(tiny_trace, monkeypatch, overrides):
    fast, fast_slices, fast_events = simulate(tiny_trace, overrides)
    with monkeypatch.context() as patch:
        no_skips(patch)
        slow, slow_slices, slow_events = simulate(tiny_trace, overrides)
    assert fast == slow
    assert fast_slices == slow_slices
    assert fast_events < slow_events


# a process's script: wait, take or give back buffer space, put into or take from a channel
# (small delays, so that many requests meet in the same cycle)
OPS = st.one_of(st.tuples(st.just("wait"), st.sampled_from([0, 0, 1, 2])),
                st.tuples(st.just("alloc"), st.integers(0, 1), st.integers(1, 6)),
                st.tuples(st.just("release"), st.integers(0, 1)),
                st.tuples(st.just("put"), st.integers(0, 1)),
                st.tuples(st.just("get"), st.integers(0, 1)))


def play(scripts: list[list[tuple]]) -> tuple[list, list]:
    """Run the scripts as processes; what happened when, and the final state."""
    env = simpy.Environment()
    buffers = [SramBuffer(env, f"b{i}", 8, 4) for i in range(2)]
    channels = [Channel(env, f"c{i}", 1 + i) for i in range(2)]
    log: list[tuple] = []

    def process(pid: int, script: list[tuple]):
        held = [[], []]
        for step, op in enumerate(script):
            if op[0] == "wait":
                yield env.timeout(op[1])
            elif op[0] == "alloc":
                buffer = buffers[op[1]]
                if not buffer.allocate_now(op[2]):
                    yield buffer.allocate(op[2])
                held[op[1]].append(op[2])
            elif op[0] == "release" and held[op[1]]:
                buffers[op[1]].release(held[op[1]].pop())
            elif op[0] == "put":
                yield from channels[op[1]].put((pid, step))
            elif op[0] == "get":
                log.append(("got", pid, (yield from channels[op[1]].get())))
            log.append((env.now, pid, step))

    for pid, script in enumerate(scripts):
        env.process(process(pid, script))
    env.run()
    state = [(b.occupied_bytes, b.peak_bytes, b.waiting()) for b in buffers]
    state += [(c.stats, c.occupancy_tiles) for c in channels]
    return log, state


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(OPS, min_size=4, max_size=16), min_size=2, max_size=5))
def test_random_requests_happen_in_the_same_order(scripts):
    fast = play(scripts)
    with pytest.MonkeyPatch.context() as patch:
        no_skips(patch)
        slow = play(scripts)
    assert fast == slow
