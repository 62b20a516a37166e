"""The command-level model inside the TLM (dram.model = controller): SimPy processes per
channel, back-pressure on the issuing DMA, same timing as the trace-driven mode."""

from __future__ import annotations

from dataclasses import replace

import pytest
import simpy

from memory.dram import Dram
from memory.payload import Command, Transaction
from memory.presets import HBM2
from tlm.app.api import simulate
from tlm.config import ConfigError


def small_queues_hbm2():
    part = replace(HBM2.commands, read_queue=2, bank_queue=1)
    return replace(HBM2, channels=1, commands=part)


def test_same_timing_as_trace_mode_and_back_pressure():
    """Five 64 B reads to one bank, five rows, issued at once into a read queue of 2 and
    a bank queue of 1 (tests/test_dram_stream.py computes the same case by hand): the
    third waits for room before it is even accepted, and all complete one tRC apart."""
    env = simpy.Environment()
    dram = Dram(env, "dram", small_queues_hbm2(), 1000.0, "controller")
    events = [dram.access(Transaction(Command.READ, i * 32768, 64)) for i in range(5)]
    done = []
    for event in events:
        event.callbacks.append(lambda e: done.append(env.now))
    env.run()
    assert done == [31, 79, 127, 175, 223]
    assert [e.value.row_misses for e in events] == [1, 0, 0, 0, 0]
    assert dram.stats().activations == 5 and dram.stats().bytes_read == 5 * 64


def test_a_tile_is_cut_into_bursts_and_counted():
    env = simpy.Environment()
    dram = Dram(env, "dram", HBM2, 1000.0, "controller")
    event = dram.access(Transaction(Command.READ, 100, 4096))     # unaligned: 65 bursts
    env.run()
    s = dram.stats()
    assert s.bytes_read == 65 * 64 and s.requests == 65
    assert s.row_hits + s.row_misses + s.row_conflicts == 65
    assert event.value.done_cycle == env.now and event.value.channels == 3


def test_sample_run_is_deterministic_and_moves_what_the_banked_model_moves():
    one = simulate(None, {"dram.model": "controller"})
    two = simulate(None, {"dram.model": "controller"})
    banked = simulate(None, {})
    assert one.total_cycles == two.total_cycles and one.dram == two.dram
    # the same traffic (the controller counts whole bursts, so a little more); the time
    # differs: the banked model cannot reorder, turn the bus around or drain writes
    for key in ("bytes_read", "bytes_written"):
        assert banked.dram[key] <= one.dram[key] <= 1.02 * banked.dram[key]


def test_parts_without_command_timing_are_refused():
    with pytest.raises(ConfigError, match="no command-level timing"):
        simulate(None, {"dram.model": "controller", "dram.preset": "lpddr4-3200"})


def test_full_queues_hold_the_dma_and_show_as_memory_stall(monkeypatch):
    """Queues of one transaction (the part's are 32): the DMAs wait far longer for room,
    and that wait reaches the engines as memory stall in the report's stall breakdown."""
    import memory.dram_controller as dram_controller
    from memory import presets

    models = []
    real_init = dram_controller.ControllerModel.__init__

    def recording_init(self, dram):
        real_init(self, dram)
        models.append(self)

    monkeypatch.setattr(dram_controller.ControllerModel, "__init__", recording_init)
    roomy = simulate(None, {"dram.model": "controller"})
    roomy_waited = sum(m.room_wait_cycles for m in models)
    tight = replace(HBM2.commands, read_queue=1, write_queue=1, bank_queue=1)
    monkeypatch.setitem(presets.PRESETS, "hbm2", replace(HBM2, commands=tight))
    models.clear()
    full = simulate(None, {"dram.model": "controller"})
    waited = sum(m.room_wait_cycles for m in models)
    assert waited > roomy_waited
    stall = lambda r: sum(e["stall_memory"] for e in r.engines.values())  # noqa: E731
    assert stall(full) > stall(roomy) and full.total_cycles > roomy.total_cycles
