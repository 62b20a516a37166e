"""Bounded channels count back-pressure and starvation per side."""

import math

import pytest
import simpy

from tlm.channel import Channel
from tlm.jobs import Scoreboard


def test_full_channel_blocks_producer_and_counts_backpressure():
    env = simpy.Environment()
    channel = Channel(env, "c", 1)
    log = []

    def producer():
        for i in range(3):
            yield from channel.put(i)
            log.append(("put", i, env.now))

    def consumer():
        yield env.timeout(10)
        for _ in range(3):
            item = yield from channel.get()
            log.append(("got", item, env.now))
            yield env.timeout(5)

    env.process(producer())
    env.process(consumer())
    env.run()
    assert [e for e in log if e[0] == "put"] == [("put", 0, 0), ("put", 1, 10), ("put", 2, 15)]
    assert channel.stats.put_wait_cycles == 10 + 5
    assert channel.stats.get_wait_cycles == 0
    assert channel.stats.peak_items == 1


def test_empty_channel_counts_starvation():
    env = simpy.Environment()
    channel = Channel(env, "c", math.inf)

    def consumer():
        yield from channel.get()

    def producer():
        yield env.timeout(7)
        yield from channel.put("x")

    env.process(consumer())
    env.process(producer())
    env.run()
    assert channel.stats.get_wait_cycles == 7
    assert "unbounded" in channel.describe()


def test_zero_capacity_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        Channel(simpy.Environment(), "c", 0)


def test_scoreboard_fires_after_all_parts():
    env = simpy.Environment()
    board = Scoreboard(env)
    board.expect(("du", 1, 0))
    board.expect(("du", 1, 0))
    fired = []

    def waiter():
        yield board.ready(("du", 1, 0))
        fired.append(env.now)

    def writer():
        for _ in range(2):
            yield env.timeout(3)
            board.done(("du", 1, 0))

    env.process(waiter())
    env.process(writer())
    env.run()
    assert fired == [6]
    assert board.ready(("spikes", 0, 0)).triggered  # never expected: already in DRAM
