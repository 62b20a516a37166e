"""Trace-driven DRAM mode: a request stream through per-channel controllers.

The issue discipline is the one of the calibration set (and of DRAMsim3's own
trace CPU, made strict): every memory clock the next requests are offered **in
stream order**, at most ``max_issue`` of them; the first one whose channel has
no room in its read queue (write buffer) stops the offer — head-of-line
blocking, nothing behind it may pass. A request is never offered before its
own issue clock. Reads complete when their data burst ends; writes are posted
and complete one clock after they are accepted. Time is the clock of the last
completion.

Address decoding is vectorised over the whole stream; the controllers then
take one decision per request (``memory/controller.py``), and while the offer
is blocked the clock jumps straight to the blocking channel's next decision. A
channel takes its decisions up to the clock only when a request is offered to
it (and at the end): until then nothing it could see has changed, so they are
the same decisions, without polling every channel at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memory.controller import ChannelController
from memory.field_map import FieldMap
from memory.timing import CommandTiming

MAX_ISSUE_PER_CLOCK = 8


@dataclass
class StreamResult:
    """Per-request clocks and per-channel, per-bank counters of one stream."""

    timing: CommandTiming
    channels: int
    request_bytes: int
    is_write: np.ndarray
    accept: np.ndarray          # clock each request entered its queue
    done: np.ndarray            # clock each request completed
    reads: np.ndarray           # [channel, bank] column commands
    writes: np.ndarray
    hits: np.ndarray
    acts: np.ndarray
    refreshes: np.ndarray       # [channel, rank]

    @property
    def cycles(self) -> int:
        return int(self.done.max()) if len(self.done) else 0


def run_stream(timing: CommandTiming, amap: FieldMap, addresses: np.ndarray,
               is_write: np.ndarray, issue: np.ndarray | None = None,
               request_bytes: int = 64, max_issue: int = MAX_ISSUE_PER_CLOCK) -> StreamResult:
    """Serve ``addresses`` (bytes) in order; ``issue`` holds optional earliest issue clocks."""
    decoded = amap.decode(addresses)
    n = len(addresses)
    ctrls = [ChannelController(timing) for _ in range(amap.channels)]
    chan, bank, row = (a.tolist() for a in decoded)
    write = np.asarray(is_write, dtype=bool).tolist()
    due = [0] * n if issue is None else np.asarray(issue, dtype=np.int64).tolist()
    accept, done = [0] * n, [0] * n
    clock = issued = 0                      # issued: requests offered at this clock
    for i in range(n):
        c, w = ctrls[chan[i]], write[i]
        if issued == max_issue:             # this clock's offers are used up
            clock, issued = clock + 1, 0
        if due[i] > clock:                  # not due yet
            clock, issued = due[i], 0
        if c.now <= clock:                  # else its next decision is still ahead
            c.advance(clock, done)
        # its queue is full (what c.accepts tells, inline): blocked until its next decision
        while c.queued[w] >= c.depth[w]:
            clock, issued = (clock + 1 if clock >= c.now else c.now), 0
            c.advance(clock, done)
        c.offer(i, bank[i], row[i], w, clock)
        accept[i] = clock
        if w:
            done[i] = clock + 1
        issued += 1
    for c in ctrls:                         # every channel up to the last offer's clock
        if c.now <= clock:
            c.advance(clock, done)
        c.end_of_stream()
        c.advance(1 << 62, done)
    return _result(timing, amap.channels, request_bytes, write, accept, done, ctrls)


def _result(timing: CommandTiming, channels: int, request_bytes: int, write: list[bool],
            accept: list[int], done: list[int], ctrls: list[ChannelController]) -> StreamResult:
    end = max(done) if done else 0
    refreshes = np.array([[c.epoch(r, end) for r in range(timing.ranks)] for c in ctrls])
    stack = lambda name: np.array([getattr(c, name) for c in ctrls], dtype=np.int64)  # noqa: E731
    return StreamResult(timing, channels, request_bytes, np.array(write, dtype=bool),
                        np.array(accept, dtype=np.int64), np.array(done, dtype=np.int64),
                        stack("reads"), stack("writes"), stack("hits"), stack("acts"),
                        refreshes)
