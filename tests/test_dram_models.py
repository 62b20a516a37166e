"""The DRAM's two timing models behind one interface: what they share must agree, and
the banked model's scalar one-block path must give what its vector path gives."""

from __future__ import annotations

from dataclasses import replace

import simpy
from hypothesis import given, settings, strategies as st

from memory.address_map import AddressMap
from memory.dram import Dram
from memory.dram_bandwidth import BandwidthModel
from memory.dram_banked import BankedModel
from memory.dram_banked_scalar import FEW_BLOCKS
from memory.payload import Command, Transaction
from memory.presets import DDR4_3200, HBM2, LPDDR4_3200

transactions = st.lists(st.tuples(st.booleans(), st.integers(0, 1 << 24),
                                  st.integers(1, 20000), st.integers(0, 300)),
                        min_size=1, max_size=25)
presets = st.sampled_from([HBM2, DDR4_3200, LPDDR4_3200, replace(HBM2, channels=3)])


def serve(dram: Dram, txns) -> list:
    """One initiator, in order: (completion cycle, AccessRecord) per transaction."""
    out = []

    def initiator(env):
        for is_read, address, nbytes, delay in txns:
            yield env.timeout(delay)
            record = yield dram.access(Transaction(Command.READ if is_read else Command.WRITE,
                                                   address, nbytes))
            out.append((env.now, record))

    dram.env.process(initiator(dram.env))
    dram.env.run()
    return out


def test_models_are_classes_behind_one_interface():
    env = simpy.Environment()
    assert isinstance(Dram(env, "d", HBM2, model="banked").timing, BankedModel)
    assert isinstance(Dram(env, "d", HBM2, model="bandwidth").timing, BandwidthModel)


@settings(max_examples=60, deadline=None)
@given(txns=transactions, preset=presets, interleave=st.sampled_from([256, 1024]))
def test_shared_paths_agree(txns, preset, interleave):
    """Splitting over channels and counting bytes are shared: both models touch the same
    channels and count the same bytes and requests; the bus time of the bandwidth model
    is a lower bound on the banked one."""
    runs = {}
    for model in ("banked", "bandwidth"):
        dram = Dram(simpy.Environment(), "d", preset, 1000.0, model, interleave_bytes=interleave)
        runs[model] = (serve(dram, txns), dram.stats())
    (banked, b_stats), (bandwidth, w_stats) = runs["banked"], runs["bandwidth"]
    assert [r.channels for _, r in banked] == [r.channels for _, r in bandwidth]
    for key in ("bytes_read", "bytes_written", "requests", "transactions"):
        assert getattr(b_stats, key) == getattr(w_stats, key), key
    for row_b, row_w in zip(b_stats.per_channel, w_stats.per_channel):
        assert (row_b["bytes_read"], row_b["bytes_written"]) == \
            (row_w["bytes_read"], row_w["bytes_written"])
    first_b, first_w = banked[0][1], bandwidth[0][1]
    assert first_b.end_cycle >= first_w.end_cycle - 1


@settings(max_examples=60, deadline=None)
@given(txns=st.lists(st.tuples(st.booleans(), st.integers(0, 1 << 22), st.integers(1, 256),
                               st.integers(0, 300)), min_size=1, max_size=40),
       preset=presets)
def test_banked_scalar_path_equals_vector_path(txns, preset):
    """Transactions inside one 256 B block take the scalar path; with it switched off the
    vector path must give the same records and statistics."""
    txns = [(r, a - a % 256 + min(a % 256, 256 - n), n, d) for r, a, n, d in txns]
    fast = Dram(simpy.Environment(), "d", preset, 1000.0, "banked")
    slow = Dram(simpy.Environment(), "d", preset, 1000.0, "banked", fast_path=False)
    assert serve(fast, txns) == serve(slow, txns)
    assert fast.stats().to_dict() == slow.stats().to_dict()


@settings(max_examples=80, deadline=None)
@given(txns=st.lists(st.tuples(st.booleans(), st.integers(0, 1 << 22),
                               st.one_of(st.integers(1, 256), st.integers(257, 256 * FEW_BLOCKS),
                                         st.integers(256 * FEW_BLOCKS, 1 << 16)),
                               st.integers(0, 600)), min_size=1, max_size=40),
       preset=presets)
def test_banked_plain_python_paths_equal_the_vector_path_to_the_last_bit(txns, preset):
    """Tiles of a few blocks are served bank by bank in Python: the records, the statistics,
    the bandwidth windows and every server's float free time must equal the vector path's."""
    assert_fast_equals_slow(txns, preset)


def assert_fast_equals_slow(txns, preset) -> None:
    """Served with every fast path and cache, and with none: the same to the last bit."""
    fast = Dram(simpy.Environment(), "d", preset, 1000.0, "banked")
    slow = Dram(simpy.Environment(), "d", preset, 1000.0, "banked", fast_path=False)
    assert serve(fast, txns) == serve(slow, txns)
    assert fast.stats().to_dict() == slow.stats().to_dict()
    assert fast.record().window_bytes.tolist() == slow.record().window_bytes.tolist()
    assert fast._state.free.tolist() == slow._state.free.tolist()
    assert fast._state.bus_free == slow._state.bus_free
    assert fast._state.open_row.tolist() == slow._state.open_row.tolist()


@settings(max_examples=60, deadline=None)
@given(shapes=st.lists(st.tuples(st.integers(0, 1 << 15), st.integers(257, 1 << 16)),
                       min_size=1, max_size=4),
       txns=st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(0, 80),
                               st.integers(0, 600)), min_size=1, max_size=40),
       preset=presets)
def test_banked_kept_tiles_and_outcomes_equal_fresh_ones(shapes, txns, preset):
    """The vector path keeps what it derives per tile shape and per row outcome: a few
    shapes served at many places (so that shapes, and their rows' outcomes, repeat) must
    give what the path that keeps nothing gives, to the last bit."""
    period_bytes = AddressMap.for_preset(preset).period_blocks * 256
    assert_fast_equals_slow([(is_read, offset + place * period_bytes, length, delay)
                             for is_read, which, place, delay in txns
                             for offset, length in [shapes[which % len(shapes)]]], preset)
