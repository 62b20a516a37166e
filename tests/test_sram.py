"""SramBuffer: bounded space (blocking, FIFO, peak), counters, port timing."""

from __future__ import annotations

import pytest
import simpy

from memory.sram import SramBuffer


@pytest.fixture
def env() -> simpy.Environment:
    return simpy.Environment()


def test_allocation_blocks_until_release(env):
    buf = SramBuffer(env, "fe.input_buffer", 1000, 16)
    log = []

    def producer(env):
        for i in range(3):
            yield buf.allocate(400, who="fe.dma")
            log.append((f"fill{i}", env.now))

    def consumer(env):
        yield env.timeout(10)
        buf.release(400)
        yield env.timeout(5)
        buf.release(400)

    env.process(producer(env))
    env.process(consumer(env))
    env.run()
    assert log == [("fill0", 0), ("fill1", 0), ("fill2", 10)]
    assert buf.peak_bytes == 800
    assert buf.occupied_bytes == 400


def test_fifo_head_of_line_blocking(env):
    buf = SramBuffer(env, "buf", 100, 8)
    log = []

    def proc(env, name, nbytes, delay):
        yield env.timeout(delay)
        yield buf.allocate(nbytes, who=name)
        log.append((name, env.now))

    def freer(env):
        yield env.timeout(20)
        buf.release(90)

    env.process(proc(env, "big", 90, 0))
    env.process(proc(env, "large", 60, 1))
    env.process(proc(env, "small", 5, 2))   # would fit, but queues behind "large"
    env.process(freer(env))
    env.run()
    assert log == [("big", 0), ("large", 20), ("small", 20)]
    assert buf.peak_bytes == 90


def test_oversized_request_blocks_forever_and_is_named(env):
    buf = SramBuffer(env, "fe.input_buffer", 65536, 64)

    def dma(env):
        yield buf.allocate(80000, who="fe.dma")
        raise AssertionError("an oversized allocation must never be granted")

    env.process(dma(env))
    env.run(until=1000)
    assert buf.waiting() == [
        "fe.input_buffer: 'fe.dma' waits for 80000 B, capacity 65536 B (0 B in use)"]


def test_waiting_defaults_to_process_name_and_clears(env):
    buf = SramBuffer(env, "b", 10, 1)

    def hog(env):
        yield buf.allocate(10)
        yield env.timeout(3)
        buf.release(10)

    def my_dma(env):
        yield buf.allocate(4)

    env.process(hog(env))
    env.process(my_dma(env))
    env.run(until=1)
    assert buf.waiting() == ["b: 'my_dma' waits for 4 B, capacity 10 B (10 B in use)"]
    env.run()
    assert buf.waiting() == []


def test_counters_and_stats(env):
    buf = SramBuffer(env, "wue.grad", 4096, 32)
    buf.record_write(1000)
    buf.record_write(24)
    buf.record_read(512)
    buf.record_refetch(256)
    s = buf.stats()
    assert (s.capacity_bytes, s.bytes_written, s.bytes_read, s.refetch_bytes) == (4096, 1024, 512, 256)
    assert s.to_dict()["name"] == "wue.grad"


def test_port_cycles_round_to_the_nearest_cycle(env):
    buf = SramBuffer(env, "b", 1024, 32)
    assert [buf.port.cycles(n) for n in (0, 1, 32, 33, 1024)] == [0, 0, 1, 1, 32]


def test_invalid_use_raises(env):
    buf = SramBuffer(env, "b", 100, 4)
    with pytest.raises(ValueError):
        buf.allocate(0)
    with pytest.raises(ValueError):
        buf.release(10)          # nothing allocated
    with pytest.raises(ValueError):
        SramBuffer(env, "z", 0, 4)


def test_the_port_serves_one_request_at_a_time_in_arrival_order(env):
    buf = SramBuffer(env, "b", 1024, 32)
    first, second = buf.port.move(320), buf.port.move(64)   # 10 and 2 cycles
    env.run()
    assert (first.triggered, second.triggered) == (True, True)
    assert env.now == 12                  # the second waited for the first
    s = buf.stats()
    assert (s.port_busy_cycles, s.port_wait_cycles) == (12, 10)


def test_an_idle_port_moves_nothing_for_free(env):
    buf = SramBuffer(env, "b", 1024, 1 << 20)
    done = buf.port.move(64)
    env.run()
    assert done.triggered and env.now == 0
    assert buf.stats().port_busy_cycles == 0


def test_requests_after_a_gap_do_not_wait(env):
    buf = SramBuffer(env, "b", 1024, 32)
    finished = []

    def client(delay, nbytes):
        yield env.timeout(delay)
        yield buf.port.move(nbytes)
        finished.append(env.now)

    env.process(client(0, 320))
    env.process(client(20, 320))
    env.run()
    assert finished == [10, 30]
    assert buf.stats().port_wait_cycles == 0
