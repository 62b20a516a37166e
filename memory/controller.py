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

What a decision costs does not grow with the queues: the read queue and write
buffer are kept per bank, with the banks that may move ordered by their first
arrival, so the next transaction to move is a look-up; the first-ready choice
is kept incrementally (``memory/bank_choice.py``), and the clock it computes is
the column clock unless a refresh intervenes. What is left is the interpreter
executing each decision's rules, so the state lives in slots and the inner
functions are written flat. tests/test_dram_decisions.py checks every choice
against a full scan and the decisions against those of the straightforward
implementation this replaced.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from memory.bank_choice import (BANK_BITS, BANK_MASK, BOUND, ELIGIBLE, ENTRY, KIND, LIMIT,
                                 NEVER, BankChoice)
from memory.timing import CommandTiming


class ChannelController(BankChoice):
    """Bank state, queues and counters of one channel; ``advance`` makes decisions."""

    # attributes in slots: read and written by every decision, they are its main cost
    __slots__ = ('t', 'per_rank', 'per_group', 'col_same', 'col_other', 'open_row',
                 'row_epoch', 'col_ready', 'pre_ready', 'act_ready', 'bank_busy', 'served',
                 'ref_first', 'act_rank', 'act_group', 'faw', 'last_col', 'last_col_rank',
                 'last_col_group', 'last_read', 'group_wtr', 'rank_wtr', 'group_rrd',
                 'group_wtr_rrd', 'trans', 'queued', 'arrivals', 'movable', 'cmdq', 'full',
                 'draining', 'flush', 'moved_until', 'move_blocked', 'observer', 'now',
                 'reads', 'writes', 'hits', 'acts', 'write_recovery', 'data_clocks',
                 'depth', 'bank_queue', 'rcd', 'rp', 'rtp', 'ras', 'rrd_s_col', 'faw_col')

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
        self.ref_first = [(r + 1) * (t.refi // t.ranks) for r in range(t.ranks)]   # staggered
        self.act_rank, self.act_group = [NEVER] * t.ranks, [NEVER] * groups
        self.faw = [[NEVER] * 4 for _ in range(t.ranks)]      # last four ACTs per rank
        self.last_col, self.last_col_rank, self.last_col_group = NEVER, -1, -1
        self.last_read = NEVER
        # the bus limits a write sets, as the column clocks they allow a read: per bank
        # group (tWTR_L) and per rank (tWTR_S); and tRRD_L per group as a column clock
        after_write = t.cwl + t.burst_clocks
        self.group_wtr = [NEVER + after_write + t.wtr_l] * groups
        self.rank_wtr = [NEVER + after_write + t.wtr_s] * t.ranks
        self.group_rrd = [NEVER + t.rrd_l + t.rcd] * groups
        self.group_wtr_rrd = [max(a, b) for a, b in zip(self.group_wtr, self.group_rrd)]
        # the read queue and the write buffer, kept per bank: bank -> list of
        # (request, row, is_write, t, arrival number), and their lengths; an entry moves
        # to its bank's command queue as it is
        self.trans: tuple[dict, dict] = ({}, {})
        self.queued = [0, 0]
        self.arrivals = 0
        # per queue: arrival number of its first entry << BANK_BITS | bank, of every bank
        # with entries and room in its command queue, ascending: the first moves next
        self.movable: tuple[list, list] = ([], [])
        self.cmdq: dict[int, list] = {}          # bank -> its entries, bank_queue deep
        self.full: set[int] = set()              # banks whose command queue is full
        self.draining = 0                        # writes still to move in this drain
        self.flush = False                       # end of stream: drain whatever is left
        self.moved_until = 0                     # one transaction moves per clock
        self.move_blocked = False                # nothing can move until a queue changes
        self.observer = None                     # called (request, column clock, is write, kind)
        self.now = 0
        self.reads, self.writes = [0] * nb, [0] * nb
        self.hits, self.acts = [0] * nb, [0] * nb
        self.write_recovery = t.cwl + t.burst_clocks + t.wr   # write to PRE of its bank
        self.data_clocks = t.cl + t.burst_clocks                # read command to its data end
        self.depth = (t.read_queue, t.write_queue)
        self.bank_queue, self.rcd, self.rp, self.rtp = t.bank_queue, t.rcd, t.rp, t.rtp
        # constant sums of the issue: ACT to its PRE limit, and as column clocks the
        # ACT limits tRRD_S and tFAW set
        self.ras, self.rrd_s_col, self.faw_col = t.ras, t.rrd_s + t.rcd, t.faw + t.rcd
        self._choice_init()

    # -- queues ---------------------------------------------------------------------

    def accepts(self, is_write: bool) -> bool:
        """Whether the read queue (write buffer) has room for one more request."""
        return self.queued[is_write] < self.depth[is_write]

    def enqueue(self, request: int, bank: int, row: int, is_write: bool, clock: int) -> None:
        """Queue a request the queue ``accepts``."""
        if not self.offer(request, bank, row, is_write, clock):
            raise ValueError(f"request {request}: the {'write' if is_write else 'read'} queue "
                             "is full (ask accepts first)")

    def offer(self, request: int, bank: int, row: int, is_write: bool, clock: int) -> bool:
        """Queue a request if its queue has room; whether it had."""
        queued = self.queued
        if queued[is_write] >= self.depth[is_write]:
            return False
        if not (self.cmdq or queued[0] or self.draining or self._drain_due()):
            self.now = max(self.now, clock + 1)     # idle until now: wake after the arrival
        arrival = self.arrivals
        entry = (request, row, is_write, clock, arrival)
        trans = self.trans[is_write]
        entries = trans.get(bank)
        if entries is None:
            trans[bank] = [entry]
            if bank not in self.full:
                insort(self.movable[is_write], arrival << BANK_BITS | bank)
        else:
            entries.append(entry)
        self.arrivals = arrival + 1
        queued[is_write] += 1
        self.move_blocked = False
        return True

    def end_of_stream(self) -> None:
        """No more requests will come: drain the writes left in the buffer."""
        self.flush, self.move_blocked = True, False

    def has_work(self) -> bool:
        return bool(self.cmdq or self.queued[0] or self.draining or self._drain_due())

    def _drain_due(self) -> bool:
        """DRAMsim3's rule: the write buffer is full, or holds more than ``drain_low``
        writes while no read waits anywhere."""
        writes = self.queued[1]
        return writes >= self.t.write_queue or (writes > 0 and not self.queued[0] and (
            self.flush or (writes > self.t.drain_low and not self.cmdq)))

    def _move(self, clock: int) -> None:
        """Move transactions into their banks' command queues, one per clock up to ``clock``:
        the first in queue order (arrived before ``clock``) whose bank queue has room."""
        cmdq, queued, moved = self.cmdq, self.queued, self.moved_until
        while moved < clock:
            if not self.draining and queued[1] and self._drain_due():
                self.draining = queued[1]
            is_write = self.draining > 0
            movable = self.movable[is_write]
            if not movable:             # empty, or every entry waits for a full bank:
                self.move_blocked = True    # nothing moves until a queue changes
                break
            bank = movable[0] & BANK_MASK
            trans = self.trans[is_write]
            entries = trans[bank]
            entry = entries[0]
            if entry[3] >= clock:       # arrivals are in clock order: none has arrived
                break
            del entries[0]              # short lists: cheaper than deques here
            del movable[0]
            queued[is_write] -= 1
            queue = cmdq.get(bank)
            if queue is None:           # the bank waits from now on, after every busy bank
                queue = cmdq[bank] = []
                self.key[bank] = self.order << BANK_BITS | bank
                self.order += 1
                self.dirty.add(bank)
            elif entry[1] == self.open_row[bank] and (part := self.part[bank]) is not None \
                    and part[ELIGIBLE]:
                self.dirty.add(bank)    # a hit on the open row may jump the head
            queue.append(entry)
            if len(queue) >= self.bank_queue:
                self._fill(bank, not is_write)
            elif entries:
                insort(movable, entries[0][4] << BANK_BITS | bank)
            if not entries:
                del trans[bank]
            if is_write:
                self.draining -= 1
            moved += 1
        else:
            moved = clock
        self.moved_until = moved

    def _fill(self, bank: int, other: bool) -> None:
        """``bank``'s command queue is full: none of its entries may move, from either queue."""
        self.full.add(bank)
        entries = self.trans[other].get(bank)
        if entries:
            movable = self.movable[other]
            del movable[bisect_left(movable, entries[0][4] << BANK_BITS | bank)]

    # -- refresh --------------------------------------------------------------------

    def epoch(self, rank: int, clock: int) -> int:
        """Refreshes rank ``rank`` has started by ``clock``."""
        since = clock - self.ref_first[rank]
        return 0 if since < 0 else since // self.t.refi + 1

    def _refresh_end(self, rank: int, epoch: int) -> int:
        """The clock refresh number ``epoch`` (from 1) of ``rank`` releases it."""
        return self.ref_first[rank] + (epoch - 1) * self.t.refi + self.t.rfc if epoch else 0

    def _after_refresh(self, rank: int, clock: int) -> int:
        """``clock``, or the end of the refresh of ``rank`` that covers it."""
        first = self.ref_first[rank]
        if clock < first:
            return clock
        end = clock - (clock - first) % self.t.refi + self.t.rfc
        return end if end > clock else clock

    # -- one decision ---------------------------------------------------------------

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
        return max(col, self.group_wtr[group], self.rank_wtr[rank])

    def _issue(self, bank: int, row: int, is_write: bool, col: int, act: "int | None") -> None:
        """Commit one request's commands: its column command at ``col``, after an ACT as
        early as ``act`` (a column clock) and the ACT limits allow, unless it hits the
        open row (a PRE before the ACT only delayed it)."""
        rank, group = self.rank_of[bank], self.group_of[bank]
        if act is None:
            served = self.served[bank]
            self.hits[bank] += served > 0
            self.bank_busy[bank] = col
            pre_ready, act_ready = self.pre_ready[bank], self.act_ready[bank]
        else:
            if self.rank_act[rank] > act:
                act = self.rank_act[rank]
            if self.group_rrd[group] > act:
                act = self.group_rrd[group]
            act -= self.rcd
            served = act_ready = 0      # the PRE below, after tRAS, is the later limit
            self._open(bank, rank, group, row, act)
            pre_ready = act + self.ras
        self.served[bank] = served + 1
        if is_write:
            self.writes[bank] += 1
            pre = col + self.write_recovery
            wtr = self.group_wtr[group] = col + self.write_to_read_l
            rrd = self.group_rrd[group]
            self.group_wtr_rrd[group] = wtr if wtr > rrd else rrd
            self.rank_wtr[rank] = col + self.write_to_read_s
        else:
            self.reads[bank] += 1
            pre = col + self.rtp
            self.last_read = col
        if pre < pre_ready:
            pre = pre_ready
        self.pre_ready[bank] = pre
        pre += self.rp
        self.act_ready[bank] = pre if pre > act_ready else act_ready
        self.last_col, self.last_col_rank, self.last_col_group = col, rank, group

    def _open(self, bank: int, rank: int, group: int, row: int, act: int) -> None:
        """An ACT of ``row`` at clock ``act``: the bank's row and the rank's ACT limits."""
        self.acts[bank] += 1
        self.open_row[bank] = row
        self.bank_busy[bank] = act
        self.row_epoch[bank] = self.epoch_now[rank] \
            if self.epoch_lo[rank] <= act < self.epoch_hi[rank] else self.epoch(rank, act)
        self.col_ready[bank] = act + self.rcd
        if act > self.act_group[group]:
            self.act_group[group] = act
            rrd = self.group_rrd[group] = act + self.group_act
            if rrd > self.group_wtr_rrd[group]:
                self.group_wtr_rrd[group] = rrd
        last = self.act_rank[rank]
        if act > last:
            last = self.act_rank[rank] = act
        window = self.faw[rank]                 # the last four ACTs, oldest first
        insort(window, act)
        del window[0]
        last += self.rrd_s_col                  # as _rank_act
        oldest = window[0] + self.faw_col
        self.rank_act[rank] = last if last > oldest else oldest

    def advance(self, clock: int, done: "list[int] | dict[int, int]") -> None:
        """Take every decision due by ``clock``; read completions go into ``done``."""
        data = self.data_clocks
        while self.now <= clock and (self.cmdq or self.queued[0] or self.draining
                                     or self._drain_due()):
            now = self.now
            if not self.move_blocked:
                self._move(now)
            if not self.cmdq:         # nothing ready to serve at this clock
                self.now = now + 1
                continue
            bank, col = self._choose(now)
            col, entry, kind = self._serve(bank, col)
            if not entry[2]:
                done[entry[0]] = col + data
            if self.observer is not None:   # 0 row hit, 1 bank closed, 2 another row open
                self.observer(entry[0], col, entry[2], kind)
            if col > now:
                self.now = col

    def _serve(self, bank: int, clock: int) -> tuple[int, tuple, int]:
        """Issue the commands of ``bank``'s candidate, its column command at ``clock`` as
        the choice computed it unless a refresh falls before it, and file the bank anew;
        (column clock, request, kind)."""
        part = self.part[bank]
        entry, queue = part[ENTRY], self.cmdq[bank]
        queue.remove(entry)
        self.move_blocked = False
        if bank in self.full:           # room again: its waiting entries may move
            self.full.discard(bank)
            for is_write in (0, 1):
                entries = self.trans[is_write].get(bank)
                if entries:
                    insort(self.movable[is_write], entries[0][4] << BANK_BITS | bank)
        if clock < part[LIMIT]:     # same refresh epoch: the choice's clock is exact
            kind, col = part[KIND], clock
            self._issue(bank, entry[1], entry[2], clock, part[BOUND] if kind else None)
        else:
            col, act, pre = self.column_time(bank, entry[1], entry[2], entry[3] + 1)
            kind = 0 if act is None else (1 if pre is None else 2)
            self._issue(bank, entry[1], entry[2], col, None if act is None else act + self.rcd)
        if queue:
            self._refile(bank, queue)
        else:
            del self.cmdq[bank]
            self._drop(bank)
        return col, entry, kind
