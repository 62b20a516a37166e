"""One DRAM channel's controller at the command level, as an open-page controller runs it.

Each channel holds a read queue and a write buffer (``read_queue`` /
``write_queue`` deep) in front of per-bank command queues (``bank_queue``
deep), as DRAMsim3's controller does. Scheduling decisions are taken in time
order; each decision serves one request:

* **which request.** Reads, unless a write drain is on. Per bank, the oldest
  request, or an older-row-first exception: a request that hits the open row
  goes first unless the row has already served ``max_row_hits`` hits and the
  oldest request wants another row. Across banks, the request whose column
  command can issue first (first-ready), the oldest bank on a tie.
* **write drain.** Writes wait in their buffer; a drain starts when it is full,
  or holds more than ``drain_low`` writes while no read waits, and then serves
  exactly the writes present at that moment.
* **its commands.** PRE (if another row is open), ACT (if the bank is closed)
  and the column command, each at the first clock every constraint allows:
  tRAS/tRTP/tWR before PRE, tRP before ACT, tRC per bank, tRRD_S/tRRD_L and
  four ACTs per tFAW per rank, tRCD before the column command, tCCD_S/tCCD_L
  between column commands, tRTRS between ranks, read-to-write turnaround
  (RL + BL/2 - WL + tRTRS) and write-to-read (WL + BL/2 + tWTR_S/L).
  ACTs and PREs may be placed earlier than the previous column command (the
  controller prepares banks for queued requests); column commands, and so the
  data bus, go in decision order.
* **refresh.** Each rank refreshes every tREFI, ranks staggered by tREFI /
  ranks (DRAMsim3's RANK_LEVEL_STAGGERED); a refresh closes the rank's rows
  and blocks it for tRFC.

A decision is taken at the clock of the previous column command and sees the
requests that had arrived by then. Row hits are counted as DRAMsim3 counts
them: a column command is a hit when its row has served one since its ACT.
Times are integer memory clocks.
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from memory.timing import CommandTiming

NEVER = -(1 << 40)


class ChannelController:
    """Bank state, queues and counters of one channel; ``advance`` makes decisions."""

    def __init__(self, timing: CommandTiming) -> None:
        t, nb = timing, timing.banks
        self.t = t
        self.per_rank, self.per_group = t.bank_groups * t.banks_per_group, t.banks_per_group
        self.col_same, self.col_other = max(t.ccd_l, t.burst_clocks), max(t.ccd_s, t.burst_clocks)
        self.open_row, self.row_epoch = [-1] * nb, [0] * nb
        self.col_ready, self.pre_ready, self.act_ready = [0] * nb, [0] * nb, [0] * nb
        self.bank_busy = [0] * nb               # clock of the bank's last ACT or column
        self.served = [0] * nb                   # column commands since the bank's ACT
        groups = t.ranks * t.bank_groups
        self.act_rank, self.act_group = [NEVER] * t.ranks, [NEVER] * groups
        self.faw = [[NEVER] * 4 for _ in range(t.ranks)]      # last four ACTs per rank
        self.last_col, self.last_col_rank, self.last_col_group = NEVER, -1, -1
        self.last_read = NEVER
        self.last_write_group, self.last_write_rank = [NEVER] * groups, [NEVER] * t.ranks
        self.queues = ({}, {})                   # reads, writes: bank -> deque of requests
        self.pending = [0, 0]
        self.resident = [0, 0]                   # requests inside bank command queues
        self.draining = 0
        self.flush = False                       # end of stream: drain whatever is left
        self.now = 0
        self.reads, self.writes = [0] * nb, [0] * nb
        self.hits, self.acts = [0] * nb, [0] * nb

    # -- queues ---------------------------------------------------------------------

    def accepts(self, is_write: bool) -> bool:
        """Whether the read queue (write buffer) has room for one more request."""
        k = int(is_write)
        inside = self.resident[k] if (not k or self.draining) else 0
        return self.pending[k] - inside < (self.t.write_queue if k else self.t.read_queue)

    def enqueue(self, request: int, bank: int, row: int, is_write: bool, clock: int) -> None:
        k = int(is_write)
        queue = self.queues[k].get(bank)
        if queue is None:
            queue = self.queues[k][bank] = deque()
        if len(queue) < self.t.bank_queue:
            self.resident[k] += 1
        queue.append((request, row, clock))
        if self.pending[0] + self.pending[1] == 0:
            self.now = max(self.now, clock + 1)
        self.pending[k] += 1

    def _pop(self, k: int, bank: int, entry: tuple[int, int, int]) -> None:
        queue = self.queues[k][bank]
        if queue[0] is entry:
            queue.popleft()
        else:
            queue.remove(entry)
        if len(queue) < self.t.bank_queue:
            self.resident[k] -= 1
        if not queue:
            del self.queues[k][bank]
        self.pending[k] -= 1

    # -- refresh --------------------------------------------------------------------

    def epoch(self, rank: int, clock: int) -> int:
        """Refreshes rank ``rank`` has started by ``clock``."""
        first = (rank + 1) * (self.t.refi // self.t.ranks)
        return 0 if clock < first else (clock - first) // self.t.refi + 1

    def _refresh_end(self, rank: int, epoch: int) -> int:
        """The clock refresh number ``epoch`` (from 1) of ``rank`` releases it."""
        start = (rank + 1) * (self.t.refi // self.t.ranks) + (epoch - 1) * self.t.refi
        return start + self.t.rfc if epoch else 0

    def _after_refresh(self, rank: int, clock: int) -> int:
        return max(clock, self._refresh_end(rank, self.epoch(rank, clock)))

    # -- one decision ---------------------------------------------------------------

    def _kind(self) -> int:
        """0 to serve reads, 1 writes, -1 to wait."""
        t, reads, writes = self.t, self.pending[0], self.pending[1]
        if not self.draining and writes and (
                writes >= t.write_queue or (not reads and (writes > t.drain_low or self.flush))):
            self.draining = writes
        if self.draining:
            return 1
        return 0 if reads else -1

    def _candidate(self, k: int, bank: int, queue: deque, clock: int):
        """The request bank ``bank`` would serve next at ``clock`` (or None)."""
        head = queue[0]
        if head[2] >= clock:
            return None
        rank = bank // self.per_rank
        if self.open_row[bank] >= 0 and self.row_epoch[bank] == self.epoch(rank, clock):
            row = self.open_row[bank]
            if head[1] == row or self.served[bank] >= self.t.max_row_hits:
                return head
            for entry in islice(queue, 1, self.t.bank_queue):
                if entry[1] == row and entry[2] < clock:
                    return entry
        return head

    def column_time(self, bank: int, row: int, is_write: bool, ready: int):
        """(column clock, ACT clock or None, PRE clock or None) for a request at ``bank``."""
        t, rank = self.t, bank // self.per_rank
        group = bank // self.per_group
        # a bank's commands are sequential: nothing for it before its last one
        ready = self._after_refresh(rank, max(ready, self.bank_busy[bank]))
        epoch = self.epoch(rank, ready)
        open_row = self.open_row[bank] if self.row_epoch[bank] == epoch else -1
        act = pre = None
        if open_row == row:
            col = max(ready, self.col_ready[bank])
        else:
            if open_row >= 0:
                pre = max(ready, self.pre_ready[bank])
                act = pre + t.rp
            else:
                act = max(ready, self.act_ready[bank])
            act = max(act, self.act_rank[rank] + t.rrd_s, self.act_group[group] + t.rrd_l,
                      self.faw[rank][0] + t.faw)
            act = self._after_refresh(rank, act)
            col = act + t.rcd
        col = max(col, self._bus_ready(rank, group, is_write))
        if self.epoch(rank, col) != epoch:          # a refresh fell in between: start over
            return self.column_time(bank, row, is_write,
                                    self._refresh_end(rank, self.epoch(rank, col)))
        return col, act, pre

    def _bus_ready(self, rank: int, group: int, is_write: bool) -> int:
        """First clock a column command may issue, from the bus and turnaround limits."""
        t = self.t
        if self.last_col_rank == rank:
            col = self.last_col + (self.col_same if group == self.last_col_group else self.col_other)
        else:
            col = self.last_col + t.burst_clocks + t.rtrs
        if is_write:
            return max(col, self.last_read + t.cl + t.burst_clocks - t.cwl + t.rtrs)
        after_write = t.cwl + t.burst_clocks
        return max(col, self.last_write_group[group] + after_write + t.wtr_l,
                   self.last_write_rank[rank] + after_write + t.wtr_s)

    def _issue(self, bank: int, row: int, is_write: bool, times) -> int:
        """Commit one request's commands; returns its column clock."""
        t, (col, act, pre) = self.t, times
        rank, group = bank // self.per_rank, bank // self.per_group
        if act is not None:
            self.acts[bank] += 1
            self.open_row[bank], self.row_epoch[bank] = row, self.epoch(rank, act)
            self.served[bank] = 0
            self.col_ready[bank], self.pre_ready[bank] = act + t.rcd, act + t.ras
            self.act_ready[bank] = act + t.rc
            self.act_rank[rank] = max(self.act_rank[rank], act)
            self.act_group[group] = max(self.act_group[group], act)
            self.faw[rank] = sorted(self.faw[rank] + [act])[1:]
        if self.served[bank]:
            self.hits[bank] += 1
        self.served[bank] += 1
        if is_write:
            self.writes[bank] += 1
            self.pre_ready[bank] = max(self.pre_ready[bank], col + t.cwl + t.burst_clocks + t.wr)
            self.last_write_group[group] = self.last_write_rank[rank] = col
        else:
            self.reads[bank] += 1
            self.pre_ready[bank] = max(self.pre_ready[bank], col + t.rtp)
            self.last_read = col
        self.act_ready[bank] = max(self.act_ready[bank], self.pre_ready[bank] + t.rp)
        self.last_col, self.last_col_rank, self.last_col_group = col, rank, group
        self.bank_busy[bank] = act if act is not None else col
        return col

    def advance(self, clock: int, done: list[int]) -> None:
        """Take every decision due by ``clock``; read completions go into ``done``."""
        while self.now <= clock and self.pending[0] + self.pending[1]:
            k = self._kind()
            if k < 0:
                return
            best = None
            for bank, queue in self.queues[k].items():
                entry = self._candidate(k, bank, queue, self.now)
                if entry is not None:
                    times = self.column_time(bank, entry[1], bool(k), entry[2] + 1)
                    if best is None or times[0] < best[0][0]:
                        best = (times, bank, entry)
            if best is None:      # nothing has arrived yet by now: wait for the first
                self.now = min(q[0][2] for q in self.queues[k].values()) + 1
                continue
            times, bank, entry = best
            self._pop(k, bank, entry)
            col = self._issue(bank, entry[1], bool(k), times)
            if k:
                self.draining -= 1
            else:
                done[entry[0]] = col + self.t.cl + self.t.burst_clocks
            self.now = max(self.now, col)
