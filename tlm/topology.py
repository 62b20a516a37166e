"""The block diagram of H2Learn as data: engines, channels, buffers, states, phases.

Everything that names a part of the machine reads it from here; ``tlm/system.py``
wires the system from these tables alone and hands each component only its own
channels and buffers (parent-only wiring). Reading this file top to bottom is
reading the block diagram::

            ┌──── fe.lut, fe.input ────┐        ┌── lif.membrane, .input, .output ──┐
    DRAM ──▶│ FE  (LUT-based forward)  │─fe->lif▶│ LIF (membrane, loss, du recursion)│──▶ DRAM
            └──────────────────────────┘        └───────────────────────────────────┘
            ┌── be.weight, be.input ───┐  be->lif ▲
    DRAM ──▶│ BE  (dual-sparse W^T·du) │──────────┘
            └──────────────────────────┘─be->wue▶┌── wue.grad, .input, .output ─┐
                                                  │ WUE (LUT-based dW, SGD step) │──▶ DRAM
                                                  └──────────────────────────────┘

Every engine is three processes — its loader (DMA read side), its compute and its
storer (DMA write side) — joined by its prefetch channel; the loader and storer
move bytes between the DRAM and the engine's own buffers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from tlm.config import SystemConfig

PHASES = ("forward", "backward", "weight_update")

# What a component's waited cycles are charged to; ``idle`` is the rest of the run.
WAIT_STATES = ("busy", "stall_memory", "stall_backpressure", "starved")
IDLE = "idle"
STATES = WAIT_STATES + (IDLE,)


@dataclass(frozen=True)
class EngineSpec:
    name: str
    title: str
    phases: tuple[str, ...]     # the phases whose work it does


@dataclass(frozen=True)
class ChannelSpec:
    """An on-chip channel: tiles handed from one engine's compute to another's."""

    name: str
    producer: str
    consumer: str
    depth_tiles: Callable[[SystemConfig], float]


@dataclass(frozen=True)
class BufferSpec:
    """An SRAM buffer of one engine. A streaming buffer is reserved tile by tile by
    the DMA that fills it; the others hold a working set for a whole layer."""

    name: str
    owner: str
    capacity_kib: Callable[[SystemConfig], int]
    streaming: bool


ENGINES = (
    EngineSpec("fe", "Forward Engine", ("forward",)),
    EngineSpec("lif", "LIF unit", ("forward", "backward")),
    EngineSpec("be", "Backward Engine", ("backward",)),
    EngineSpec("wue", "Weight Update Engine", ("weight_update",)),
)
ENGINE_NAMES = tuple(e.name for e in ENGINES)

# The DMA processes of an engine are named "<engine>.<role>".
LOADER, STORER = "load", "store"

CHANNELS = (
    ChannelSpec("fe->lif", "fe", "lif", lambda c: c.pipeline.prefetch_tiles),
    ChannelSpec("be->lif", "be", "lif", lambda c: c.pipeline.prefetch_tiles),
    ChannelSpec("be->wue", "be", "wue", lambda c: c.pipeline.du_channel_tiles or math.inf),
)

BUFFERS = (
    BufferSpec("fe.lut", "fe", lambda c: c.fe.lut_buffer_kib, False),
    BufferSpec("fe.input", "fe", lambda c: c.fe.input_buffer_kib, True),
    BufferSpec("be.weight", "be", lambda c: c.be.weight_buffer_kib, False),
    BufferSpec("be.input", "be", lambda c: c.be.input_buffer_kib, True),
    BufferSpec("wue.grad", "wue", lambda c: c.wue.grad_buffer_kib, False),
    BufferSpec("wue.input", "wue", lambda c: c.wue.input_buffer_kib, True),
    BufferSpec("wue.output", "wue", lambda c: c.wue.output_buffer_kib, True),
    BufferSpec("lif.membrane", "lif", lambda c: c.lif.membrane_buffer_kib, False),
    BufferSpec("lif.input", "lif", lambda c: c.lif.input_buffer_kib, True),
    BufferSpec("lif.output", "lif", lambda c: c.lif.output_buffer_kib, True),
)
BUFFER_NAMES = tuple(b.name for b in BUFFERS)


def channels_into(name: str) -> tuple[ChannelSpec, ...]:
    return tuple(c for c in CHANNELS if c.consumer == name)


def channels_out_of(name: str) -> tuple[ChannelSpec, ...]:
    return tuple(c for c in CHANNELS if c.producer == name)


def buffers_of(name: str) -> tuple[BufferSpec, ...]:
    return tuple(b for b in BUFFERS if b.owner == name)
