"""The trace-tile cache: what it returns is what the reader reads, in bounded memory."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from tlm.config import ConfigError, config_from_dict
from tlm.layout import INPUT
from tlm.traceview import TENSOR_NAMES, TraceView
from traces.reader import open_trace


def keys(reader) -> list[tuple[str, int, int]]:
    layers = len(reader.meta.network.layers)
    return ([("spikes", INPUT, t) for t in range(reader.meta.timesteps)]
            + [(tensor, n, t) for tensor in TENSOR_NAMES for n in range(layers)
               for t in range(reader.meta.timesteps)])


def expected(reader, tensor: str, layer: int, t: int) -> np.ndarray:
    if layer == INPUT:
        return reader.read(0, 0, "input_spikes", t)
    return reader.read(0, layer, TENSOR_NAMES[tensor], t)


@pytest.mark.parametrize("cache_bytes", [1, 3000, 1 << 20])
def test_every_tile_is_what_the_reader_reads(tiny_trace: Path, cache_bytes: int) -> None:
    with open_trace(tiny_trace) as reader:
        view = TraceView(reader, 0, cache_bytes)
        order = keys(reader) * 2
        random.Random(0).shuffle(order)
        for key in order:
            assert np.array_equal(view.get(*key), expected(reader, *key)), key
            largest = max(v.nbytes for v in view._cache.values())
            assert view._cached_bytes <= max(cache_bytes, largest)


def test_timesteps_are_read_in_blocks_and_reused(tiny_trace: Path) -> None:
    with open_trace(tiny_trace) as reader:
        view = TraceView(reader, 0, 1 << 20)
        for key in keys(reader):
            view.get(*key)
        tensors = 1 + 3 * len(reader.meta.network.layers)
        assert view.reads == tensors  # a whole tensor fits a quarter of 1 MiB: one read each
        for key in keys(reader):
            view.get(*key)
        assert view.reads == tensors and view.hits == len(keys(reader)) * 2 - tensors


def test_cache_size_is_a_checked_config_key() -> None:
    assert config_from_dict({"trace.cache_mib": 8}).trace.cache_mib == 8
    with pytest.raises(ConfigError, match="trace.cache_mib"):
        config_from_dict({"trace.cache_mib": 0})
