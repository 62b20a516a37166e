"""Build and wire one H2Learn system for one training iteration, and run it.

This is the only module that creates components and connects them: the DRAM,
the SRAM buffers, the on-chip channels between engines, and for each engine
its loader, compute and storer processes running the engine's program.

If the event queue empties while some process still has work, the run is
deadlocked: ``DeadlockError`` names every blocked process and what it waits
for (a buffer smaller than one tile, a channel nobody fills, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import simpy

from memory.dram import Dram
from memory.config import DramConfigError
from memory.presets import DramPreset, resolve_dram
from memory.sram import SramBuffer
from tlm.channel import Channel, ChannelStats
from tlm.component import Component
from tlm.config import ConfigError, SystemConfig
from tlm.engines.base import Engine, Fabric, Loader, Storer
from tlm.engines.context import Context, kib
from tlm.jobs import Job, RecordedJob
from tlm.layout import Layout
from tlm.schedule import Programs, build_programs
from tlm.stats import Collector
from tlm.traceview import TraceView

# name -> (capacity in KiB from the config, reserved per tile while streaming?)
BUFFERS: dict[str, tuple[Callable[[SystemConfig], int], bool]] = {
    "fe.lut": (lambda c: c.fe.lut_buffer_kib, False),
    "fe.input": (lambda c: c.fe.input_buffer_kib, True),
    "be.weight": (lambda c: c.be.weight_buffer_kib, False),
    "be.input": (lambda c: c.be.input_buffer_kib, True),
    "wue.grad": (lambda c: c.wue.grad_buffer_kib, False),
    "wue.input": (lambda c: c.wue.input_buffer_kib, True),
    "wue.output": (lambda c: c.wue.output_buffer_kib, True),
    "lif.membrane": (lambda c: c.lif.membrane_buffer_kib, False),
    "lif.input": (lambda c: c.lif.input_buffer_kib, True),
    "lif.output": (lambda c: c.lif.output_buffer_kib, True),
}


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (for speed reports)."""

    def __init__(self) -> None:
        super().__init__()
        self.events_processed = 0

    def step(self) -> None:
        self.events_processed += 1
        super().step()


class DeadlockError(RuntimeError):
    """The event queue emptied while processes still had work."""


@dataclass
class IterationRun:
    """Everything measured while simulating one training iteration."""

    total_cycles: int
    activity: dict[str, dict[str, int]]       # component -> state -> cycles (incl. idle)
    collector: Collector
    dram: Dram
    preset: DramPreset
    buffers: dict[str, SramBuffer]
    channels: dict[str, ChannelStats]
    jobs: int
    events: int
    phases: dict[str, tuple[int, int]] = field(default_factory=dict)  # phase -> (first, last)
    recorded: list[RecordedJob] | None = None                          # with record=True
    memory_stalls: dict[str, dict[int, int]] = field(default_factory=dict)  # engine -> channel


def make_buffers(env: simpy.Environment, cfg: SystemConfig) -> dict[str, SramBuffer]:
    return {name: SramBuffer(env, name, kib(capacity_kib(cfg)), cfg.sram.port_bytes_per_cycle)
            for name, (capacity_kib, _) in BUFFERS.items()}


def make_channels(env: simpy.Environment, cfg: SystemConfig) -> dict[str, Channel]:
    depth = cfg.pipeline.prefetch_tiles
    return {"fe->lif": Channel(env, "fe->lif", depth),
            "be->lif": Channel(env, "be->lif", depth),
            "be->wue": Channel(env, "be->wue", cfg.pipeline.du_channel_tiles or math.inf)}


def wire_engine(env: simpy.Environment, fabric: Fabric, name: str, program: list[Job],
                cfg: SystemConfig) -> list[Component]:
    """Loader, compute and storer of one engine, connected by its prefetch channel."""
    prefetch = Channel(env, f"{name}.prefetch", cfg.pipeline.prefetch_tiles)
    store_queue = simpy.Store(env)
    return [Loader(env, f"{name}.load", fabric, program, prefetch),
            Engine(env, name, fabric, program, prefetch, store_queue),
            Storer(env, f"{name}.store", fabric, store_queue)]


def explain_deadlock(components: list[Component], buffers: dict[str, SramBuffer]) -> str:
    blocked = [f"{c.name} waits for {c.waiting_for or 'an event that never comes'}"
               for c in components if not c.finished]
    blocked += [w for b in buffers.values() for w in b.waiting()]
    return "deadlock: " + "; ".join(blocked)


def simulate_iteration(reader, iteration: int, cfg: SystemConfig,
                       on_job: Callable[[], None] | None = None,
                       record: bool = False) -> IterationRun:
    """Simulate one recorded training iteration of ``reader`` on the system ``cfg``."""
    meta = reader.meta
    layout = Layout(meta.network, meta.timesteps, meta.batch, cfg)
    ctx = Context(cfg, meta.network, meta.timesteps, meta.batch, layout,
                  TraceView(reader, iteration))
    return simulate_programs(build_programs(ctx), cfg, on_job, record)


def simulate_programs(programs: Programs, cfg: SystemConfig,
                      on_job: Callable[[], None] | None = None,
                      record: bool = False) -> IterationRun:
    """Wire a system for ``cfg``, run the engines' programs to completion, measure.

    With ``record``, every job's prepared work and the cycle it was prepared at
    are kept in ``IterationRun.recorded`` (program order), for replay.
    """
    env = CountingEnvironment()
    try:
        preset = resolve_dram(cfg.dram)
    except DramConfigError as exc:
        raise ConfigError(str(exc)) from None
    try:
        dram = Dram(env, "dram", preset, cfg.clock_mhz, model=cfg.dram.model,
                    address_map=cfg.dram.address_map, xor_bank=cfg.dram.xor_bank,
                    **({"interleave_bytes": cfg.dram.interleave_bytes}
                       if cfg.dram.interleave_bytes else {}))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    buffers = make_buffers(env, cfg)
    channels = make_channels(env, cfg)
    streaming = frozenset(name for name, (_, streams) in BUFFERS.items() if streams)
    fabric = Fabric(env, dram, buffers, streaming, channels,
                    serial=cfg.pipeline.mode == "serial", on_job=on_job)
    recorded = capture(programs, env) if record else None
    for _, program in programs.items():
        for job in program:
            for key in job.signals:
                fabric.scoreboard.expect(key)
    components = [c for name, program in programs.items() if program
                  for c in wire_engine(env, fabric, name, program, cfg)]
    for component in components:
        component.start()
    env.run()
    if not all(c.finished for c in components):
        raise DeadlockError(explain_deadlock(components, buffers))
    total = int(env.now)
    return IterationRun(total, {c.name: c.activity.with_idle(total) for c in components},
                        fabric.collector, dram, preset, buffers,
                        {name: ch.stats for name, ch in channels.items()},
                        programs.job_count, env.events_processed, phase_spans(fabric.collector),
                        recorded, {c.name: dict(c.memory_stall_by_channel) for c in components
                                   if isinstance(c, Engine)})


def capture(programs: Programs, env: simpy.Environment) -> list[RecordedJob]:
    """Wrap every job's ``prepare`` so its work and preparation cycle are kept."""
    recorded = []
    for _, program in programs.items():
        for job in program:
            entry = RecordedJob(job)
            job.prepare = entry.wrap(job.prepare, env)
            recorded.append(entry)
    return recorded


def phase_spans(collector: Collector) -> dict[str, tuple[int, int]]:
    spans: dict[str, tuple[int, int]] = {}
    for item in collector.slices:
        first, last = spans.get(item.phase, (item.start, item.end))
        spans[item.phase] = (min(first, item.start), max(last, item.end))
    return spans


__all__ = ["simulate_iteration", "simulate_programs", "IterationRun", "DeadlockError"]
