"""Build and wire one H2Learn system for one training iteration, and run it.

This is the only module that creates components and connects them, and it wires
them from the block diagram in ``tlm/topology.py`` alone: the DRAM, the SRAM
buffers, the on-chip channels between engines, and for each engine its loader,
compute and storer processes running the engine's program. Each component is
handed its own channels and buffers; none looks anything up.

If the event queue empties while some process still has work, the run is
deadlocked: ``DeadlockError`` names every blocked process and what it waits
for (a buffer smaller than one tile, a channel nobody fills, ...).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import simpy
from simpy.core import EmptySchedule

from memory.dram import Dram
from memory.presets import resolve_dram
from memory.sram import SramBuffer
from tlm.channel import Channel
from tlm.component import Component
from tlm.config import ConfigError, SystemConfig, kib
from tlm.engines.base import Engine, Loader, Shared, Storer
from tlm.jobs import Job, Programs, RecordedJob
from tlm.record import IterationRun, LayerTotals
from tlm.stats import Collector
from tlm.topology import BUFFERS, CHANNELS, LOADER, STORER, buffers_of, channels_into, channels_out_of
from tlm.traceview import TraceView


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (for speed reports)."""

    def __init__(self) -> None:
        super().__init__()
        self.events_processed = 0

    def run_all(self) -> None:
        """``run()`` until no event is left, counting steps in the loop itself (an
        overridden ``step`` cost a Python call per event). As before, the last step,
        which finds the queue empty, is counted too."""
        step, steps = self.step, 0
        try:
            while True:
                steps += 1
                step()
        except EmptySchedule:
            pass
        finally:
            self.events_processed += steps


class DeadlockError(RuntimeError):
    """The event queue emptied while processes still had work."""


def make_buffers(env: simpy.Environment, cfg: SystemConfig) -> dict[str, SramBuffer]:
    return {b.name: SramBuffer(env, b.name, kib(b.capacity_kib(cfg)), cfg.sram.port_bytes_per_cycle)
            for b in BUFFERS}


def make_channels(env: simpy.Environment, cfg: SystemConfig) -> dict[str, Channel]:
    return {c.name: Channel(env, c.name, c.depth_tiles(cfg)) for c in CHANNELS}


def wire_engine(env: simpy.Environment, shared: Shared, name: str, program: list[Job],
                cfg: SystemConfig, buffers: dict[str, SramBuffer],
                channels: dict[str, Channel]) -> list[Component]:
    """Loader, compute and storer of one engine, connected by its prefetch channel,
    each given only the engine's own buffers and channels."""
    own = {b.name: buffers[b.name] for b in buffers_of(name)}
    streaming = frozenset(b.name for b in buffers_of(name) if b.streaming)
    inputs = {c.name: channels[c.name] for c in channels_into(name)}
    outputs = {c.name: channels[c.name] for c in channels_out_of(name)}
    prefetch = Channel(env, f"{name}.prefetch", cfg.pipeline.prefetch_tiles)
    store_queue = simpy.Store(env)
    return [Loader(env, f"{name}.{LOADER}", shared, program, own, streaming, prefetch),
            Engine(env, name, shared, program, prefetch, inputs, outputs, own, streaming,
                   store_queue),
            Storer(env, f"{name}.{STORER}", shared, own, streaming, store_queue)]


def explain_deadlock(components: list[Component], buffers: dict[str, SramBuffer]) -> str:
    blocked = [f"{c.name} waits for {c.waiting_for or 'an event that never comes'}"
               for c in components if not c.finished]
    blocked += [w for b in buffers.values() for w in b.waiting()]
    return "deadlock: " + "; ".join(blocked)


def simulate_iteration(reader, iteration: int, cfg: SystemConfig,
                       on_job: Callable[[], None] | None = None,
                       record: bool = False) -> IterationRun:
    """Simulate one recorded training iteration of ``reader`` on the system ``cfg``."""
    from tlm.engines.context import Context  # the program builders: not needed by a replay
    from tlm.layout import Layout
    from tlm.schedule import build_programs
    meta = reader.meta
    layout = Layout(meta.network, meta.timesteps, meta.batch, cfg)
    ctx = Context(cfg, meta.network, meta.timesteps, meta.batch, layout,
                  TraceView(reader, iteration, cfg.trace.cache_mib << 20))
    return simulate_programs(build_programs(ctx), cfg, on_job, record)


def job_count(meta, cfg: SystemConfig) -> int:
    """Jobs one iteration of a trace with ``meta`` makes on ``cfg``, without simulating.

    The programs depend on the network, T, the batch and the config, never on the
    trace's data (jobs read their tiles only when prepared), so this is exact.
    """
    from tlm.engines.context import Context
    from tlm.layout import Layout
    from tlm.schedule import build_programs
    layout = Layout(meta.network, meta.timesteps, meta.batch, cfg)
    ctx = Context(cfg, meta.network, meta.timesteps, meta.batch, layout, None)
    return build_programs(ctx).job_count


def make_dram(env: simpy.Environment, cfg: SystemConfig) -> Dram:
    """The DRAM of ``cfg``; a setting the memory refuses is a ConfigError (exit 2)."""
    try:
        preset = resolve_dram(cfg.dram)
        interleave = {"interleave_bytes": cfg.dram.interleave_bytes} if cfg.dram.interleave_bytes else {}
        return Dram(env, "dram", preset, cfg.clock_mhz, model=cfg.dram.model,
                    address_map=cfg.dram.address_map, xor_bank=cfg.dram.xor_bank, **interleave)
    except ValueError as exc:  # DramConfigError included
        raise ConfigError(str(exc)) from None


def simulate_programs(programs: Programs, cfg: SystemConfig,
                      on_job: Callable[[], None] | None = None,
                      record: bool = False) -> IterationRun:
    """Wire a system for ``cfg``, run the engines' programs to completion, measure.

    With ``record``, every job's prepared work and the cycle it was prepared at
    are kept in ``IterationRun.recorded`` (program order), for replay.
    """
    env = CountingEnvironment()
    dram = make_dram(env, cfg)
    buffers = make_buffers(env, cfg)
    channels = make_channels(env, cfg)
    shared = Shared(env, dram, serial=cfg.pipeline.mode == "serial", on_job=on_job)
    recorded = capture(programs, env) if record else None
    for _, program in programs.items():
        for job in program:
            for key in job.signals:
                shared.scoreboard.expect(key)
    components = [c for name, program in programs.items() if program
                  for c in wire_engine(env, shared, name, program, cfg, buffers, channels)]
    for component in components:
        component.start()
    env.run_all()
    if not all(c.finished for c in components):
        raise DeadlockError(explain_deadlock(components, buffers))
    return freeze(env, programs, dram, buffers, channels, shared.collector, components, recorded)


def freeze(env: CountingEnvironment, programs: Programs, dram: Dram,
           buffers: dict[str, SramBuffer], channels: dict[str, Channel], collector: Collector,
           components: list[Component], recorded: list[RecordedJob] | None) -> IterationRun:
    """The run's plain record: numbers and arrays, no live object."""
    total = int(env.now)
    return IterationRun(
        total_cycles=total,
        activity={c.name: c.activity.with_idle(total) for c in components},
        slices=tuple(collector.slices), actions=dict(collector.actions),
        layers={key: LayerTotals.of(part) for key, part in collector.layers.items()},
        dram=dram.record(), preset=dram.preset,
        buffers={name: b.stats() for name, b in buffers.items()},
        channels={name: dataclasses.asdict(ch.stats) for name, ch in channels.items()},
        jobs=programs.job_count, events=env.events_processed,
        phases=phase_spans(collector),
        memory_stalls={c.name: dict(c.memory_stall_by_channel) for c in components
                       if isinstance(c, Engine)},
        recorded=tuple(recorded) if recorded is not None else None)


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
