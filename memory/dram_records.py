"""What the DRAM timing models hand back: one transaction's schedule and its record."""

from __future__ import annotations

from typing import NamedTuple


class AccessRecord(NamedTuple):
    """What one transaction saw: the value of the event ``access`` returns."""

    arrival_cycle: int
    start_cycle: int        # first data-bus slot on any of its channels
    end_cycle: int          # last byte on the bus
    done_cycle: int         # completion (reads: + device latency)
    queue_cycles: int       # longest wait for a channel, over its channels
    channels: int
    row_hits: int
    row_misses: int
    row_conflicts: int
    critical_channel: int = -1  # the channel that finished last (where a stall is blamed)


class Schedule(NamedTuple):
    """One transaction's sub-requests (float cycles): lists indexed by channel,
    meaningful on the touched ``channels`` only."""

    channels: list[int]
    start: list[float]
    end: list[float]
    done: list[float]
    counts: tuple[list[int], list[int], list[int]]   # hits, misses, conflicts
    busy: list[float]


def to_record(arrival: int, sched: Schedule) -> AccessRecord:
    chans = sched.channels
    start = [sched.start[ch] for ch in chans]
    end = max(sched.end[ch] for ch in chans)
    done, critical = max((sched.done[ch], ch) for ch in chans)
    hits, misses, conflicts = (sum(x) for x in sched.counts)
    return AccessRecord(
        arrival_cycle=arrival, start_cycle=round(min(start)), end_cycle=round(end),
        done_cycle=max(arrival, round(done)), queue_cycles=round(max(start) - arrival),
        channels=len(start), row_hits=hits, row_misses=misses, row_conflicts=conflicts,
        critical_channel=critical)
