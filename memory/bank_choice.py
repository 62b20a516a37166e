"""Which bank serves next: the first-ready choice of ``memory/controller.py``, kept incrementally.

The rule (the controller's docstring) is: among the banks with queued requests,
the one whose column command can issue first, the bank that has waited longest
(its queue became non-empty first) on a tie. A bank's earliest column clock is

    max(own bound, rank-wide ACT limits if it must activate, data-bus limits)

where the *own bound* depends only on that bank's state and queue, so it
changes only when the bank is served or its queue changes (or a refresh starts),
while the ACT and bus limits are shared by every bank of a rank, with a few
per-bank-group extras (tRRD_L, tCCD_L, tWTR_L). Scanning every busy bank at
every decision (up to 32 on DDR4) made random traffic cost several times
streaming traffic; this keeps the same choice with a handful of look-ups:

* each busy bank is in one **class** (rank, row hit or not, read or write),
  which fixes the rank-wide part of its limits: the class floor, a lower bound
  on the column clock of every bank in it;
* a bank whose own bound is at most its class floor is **ready**: its column
  clock is the floor unless a bank-group extra applies (per class one list of
  them per bank group, kept by the issue). Ready banks sit in per-class lists
  in waiting order, so the first one at the floor ends the class, usually
  after one or two look-ups;
* the other banks **wait** in one list ordered by own bound; one whose own
  bound exceeds the best clock found cannot win and is not looked at.

Every bank looked at gets its exact clock, and a class or waiting bank is
skipped only when a lower bound proves it cannot win or tie with an earlier
bank, so the choice is the full scan's. Keys are ``order << BANK_BITS | bank``
so that comparing keys compares waiting order, and waiting entries are
``own bound << KEY_BITS | key``, so that they sort by bound, then key.

A served bank is filed anew at once, with the floors of the decision that served
it (they rise slowly); a bank whose class and ready list do not change is not
moved. Where a bank is filed decides only how soon it is looked at, never its
clock: every bank looked at is valued in full.
"""

from __future__ import annotations

from bisect import bisect_left, insort

BANK_BITS = 8               # bank numbers below 256 per channel
BANK_MASK = (1 << BANK_BITS) - 1
KEY_BITS = 48               # waiting order below 2 ** 40
KEY_MASK = (1 << KEY_BITS) - 1
FAR = 1 << 62
NEVER = -(1 << 28)          # "long ago": before any command, yet a small int (one digit:
                            # CPython's fast int compare; limits stay at it on some traffic)
# fields of a bank's part (one tuple per busy bank)
ENTRY, BOUND, KIND, LIMIT, ELIGIBLE, CLASS = range(6)


class BankChoice:
    """The choice structures; mixed into ``ChannelController``, whose state they read."""

    __slots__ = ('rank_of', 'group_of', 'order', 'key', 'part', 'home', 'ready', 'class_extra',
                 'classes', 'waiting', 'dirty', 'floor', 'rank_act', 'rank_classes', 'class_base',
                 'epoch_now', 'epoch_lo', 'epoch_hi', 'epoch_check', 'burst_rtrs', 'read_to_write',
                 'write_to_read_s', 'write_to_read_l', 'group_act', 'pre_act')

    def _choice_init(self) -> None:
        t, nb = self.t, self.t.banks
        if nb > BANK_MASK + 1:
            raise ValueError(f"{nb} banks per channel: at most {BANK_MASK + 1}")
        self.rank_of = [b // self.per_rank for b in range(nb)]
        self.group_of = [b // self.per_group for b in range(nb)]
        self.order = 0                          # next waiting-order number
        self.key = [0] * nb                     # order << BANK_BITS | bank, while busy
        self.part: list = [None] * nb           # per busy bank: the tuple above
        self.home = [-2] * nb                   # class index if ready, -1 waiting, -2 unplaced
        # class of a bank: 4 * rank + 2 * (its candidate hits the open row) + is_write
        self.ready = [[] for _ in range(4 * t.ranks)]    # per class: keys, ascending
        # per class, its bank-group limit per group as a column clock: tWTR_L for a read,
        # tRRD_L for an ACT (lists the issue keeps; a row-hit write has none)
        self.class_extra = [(self.group_wtr_rrd, self.group_rrd, self.group_wtr,
                             [NEVER] * len(self.group_rrd))[c & 3] for c in range(4 * t.ranks)]
        # the order classes are looked at: row hits first, as their floor is the lower
        # (it lacks the ACT limits), so that miss classes are more often ruled out unseen
        self.classes = [(c, self.ready[c], self.class_extra[c]) for hit in (2, 0)
                        for r in range(t.ranks) for c in (4 * r + hit, 4 * r + hit + 1)]
        self.waiting: list[int] = []            # own bound << KEY_BITS | key, ascending
        self.dirty: set[int] = set()            # banks whose part must be recomputed
        self.floor = [0] * (4 * t.ranks)        # per class, at this decision
        self.rank_act = [self._rank_act(r) for r in range(t.ranks)]
        self.rank_classes = [(r, 4 * r, 4 * r + 4) for r in range(t.ranks)]   # their classes
        self.class_base = [4 * self.rank_of[b] for b in range(nb)]
        self.epoch_now, self.epoch_lo, self.epoch_hi = [0] * t.ranks, [0] * t.ranks, [0] * t.ranks
        self._new_epochs(0)                     # sets epoch_lo, epoch_hi, epoch_check
        # constant parts of the bus limits
        self.burst_rtrs = t.burst_clocks + t.rtrs
        self.read_to_write = t.cl + t.burst_clocks - t.cwl + t.rtrs
        self.write_to_read_s = t.cwl + t.burst_clocks + t.wtr_s
        self.write_to_read_l = t.cwl + t.burst_clocks + t.wtr_l
        self.group_act = t.rrd_l + t.rcd
        self.pre_act = t.rp + t.rcd

    def _rank_act(self, rank: int) -> int:
        """Rank-wide ACT limits (tRRD_S, tFAW) of ``rank`` as a column clock."""
        t = self.t
        return max(self.act_rank[rank] + t.rrd_s, self.faw[rank][0] + t.faw) + t.rcd

    def _epoch_end(self, rank: int) -> int:
        """The clock the refresh after the current epoch of ``rank`` starts."""
        return self.ref_first[rank] + self.epoch_now[rank] * self.t.refi

    # -- keeping the structures ----------------------------------------------------------

    def _unplace(self, bank: int, home: int) -> None:
        """Take ``bank`` out of its ready list (``home`` its class) or the waiting list."""
        if home >= 0:
            keys = self.ready[home]
            del keys[bisect_left(keys, self.key[bank])]
        elif home == -1:
            waiting = self.waiting
            del waiting[bisect_left(waiting, self.part[bank][BOUND] << KEY_BITS | self.key[bank])]

    def _drop(self, bank: int) -> None:
        """``bank``'s queue is empty: it leaves the choice."""
        self._unplace(bank, self.home[bank])
        self.home[bank] = -2
        self.part[bank] = None

    def _refile(self, bank: int, queue: list) -> None:
        """Recompute ``bank``'s part and file it: ready in its class if its own bound is
        within the class floor, else waiting; a bank that stays in its ready list stays put."""
        part, home, key = self._part(bank, queue), self.home[bank], self.key[bank]
        cls, bound = part[CLASS], part[BOUND]
        if bound <= self.floor[cls]:
            if home != cls:
                self._unplace(bank, home)
                insort(self.ready[cls], key)
                self.home[bank] = cls
        else:
            if home >= 0:               # as _unplace, inline: the usual way after a serve
                keys = self.ready[home]
                del keys[bisect_left(keys, key)]
            elif home == -1:
                self._unplace(bank, home)
            insort(self.waiting, bound << KEY_BITS | key)
            self.home[bank] = -1
        self.part[bank] = part

    def _place_dirty(self) -> None:
        """Recompute the part of every bank that changed and file it as ready or waiting."""
        cmdq = self.cmdq
        for bank in self.dirty:
            self._refile(bank, cmdq[bank])
        self.dirty.clear()

    def _new_epochs(self, now: int) -> None:
        """Where each rank's current refresh epoch lies; when a refresh has started, the
        banks of its rank see a new epoch (rows closed) and are recomputed."""
        t = self.t
        for rank in range(t.ranks):
            epoch = self.epoch(rank, now)
            if epoch != self.epoch_now[rank]:
                self.epoch_now[rank] = epoch
                self.dirty.update(b for b in self.cmdq if self.rank_of[b] == rank)
            # within [lo, hi) a clock is in this epoch and outside its refresh
            self.epoch_lo[rank] = self._refresh_end(rank, epoch) if epoch else NEVER
            self.epoch_hi[rank] = self._epoch_end(rank)
        self.epoch_check = min(self.epoch_hi)

    # -- one bank ---------------------------------------------------------------------------

    def _part(self, bank: int, queue: list) -> tuple:
        """(request, own bound as a column clock, kind 0 row hit / 1 closed / 2 other row
        open, first clock of the next refresh epoch, may jump to a hit, class)."""
        rank, row_epoch = self.rank_of[bank], self.row_epoch[bank]
        entry, row, eligible = queue[0], self.open_row[bank], False
        if row >= 0 and row_epoch == self.epoch_now[rank] and entry[1] != row \
                and self.served[bank] < self.t.max_row_hits:
            for other in queue:         # older-row-first exception: a hit jumps the head
                if other[1] == row:
                    entry = other
                    break
            else:
                eligible = True
        ready, busy = entry[3] + 1, self.bank_busy[bank]
        if busy > ready:
            ready = busy
        limit = self.epoch_hi[rank]
        if self.epoch_lo[rank] <= ready < limit:    # the common case
            epoch = self.epoch_now[rank]
        else:                           # an older epoch, or inside a refresh
            ready = self._after_refresh(rank, ready)
            epoch = self.epoch(rank, ready)
            limit = self.ref_first[rank] + epoch * self.t.refi
        cls = self.class_base[bank] + entry[2]
        if row_epoch == epoch and row >= 0:
            if row == entry[1]:
                bound = self.col_ready[bank]
                return entry, ready if ready > bound else bound, 0, limit, eligible, cls + 2
            bound = self.pre_ready[bank]
            return entry, (ready if ready > bound else bound) + self.pre_act, 2, limit, \
                eligible, cls
        bound = self.act_ready[bank]
        return entry, (ready if ready > bound else bound) + self.t.rcd, 1, limit, eligible, cls

    # -- the decision -------------------------------------------------------------------------

    def _choose(self, now: int) -> tuple[int, int]:
        """(bank, column clock) of the next column command; some bank must be busy. The
        ready banks are valued here, inline, as this is the inner loop: a bank's clock is
        its own bound, its class floor, its class's bank-group limit and tCCD_L after a
        column command in its group."""
        if now >= self.epoch_check:
            self._new_epochs(now)
        if len(self.cmdq) == 1:         # one busy bank (streams): no comparison to make
            return self._lone()
        # the floor of every class at this decision: rank-wide bus and ACT limits
        last, last_rank, floor = self.last_col, self.last_col_rank, self.floor
        near, far = last + self.col_other, last + self.burst_rtrs    # same rank, another
        after_read = self.last_read + self.read_to_write
        rank_wtr, rank_act = self.rank_wtr, self.rank_act
        for rank, lo, hi in self.rank_classes:
            base = near if rank == last_rank else far
            write = after_read if after_read > base else base
            read = rank_wtr[rank]
            if read < base:
                read = base
            act = rank_act[rank]
            floor[lo:hi] = (read if read > act else act, write if write > act else act,
                            read, write)
        if self.dirty:
            self._place_dirty()
        best = best_key = FAR
        part_of, group_of = self.part, self.group_of
        hot, same = self.last_col_group, last + self.col_same
        for cls, keys, extra in self.classes:
            if not keys or floor[cls] > best:
                continue
            low = floor[cls]
            for key in keys:
                if low == best and key > best_key:
                    break               # the rest are later and at best tie
                bank = key & BANK_MASK
                clock, group = part_of[bank][BOUND], group_of[bank]
                if clock < low:
                    clock = low
                if extra[group] > clock:
                    clock = extra[group]
                if group == hot and same > clock:
                    clock = same
                if clock < best or (clock == best and key < best_key):
                    best, best_key = clock, key
                if clock == low:
                    break
        if self.waiting and self.waiting[0] >> KEY_BITS <= best:
            best, best_key = self._best_waiting(best, best_key)
        return best_key & BANK_MASK, best

    def _lone(self) -> tuple[int, int]:
        """The only busy bank and its column clock, without comparing (its part is filed
        as any other's, for when more banks are busy)."""
        bank = next(iter(self.cmdq))
        if self.dirty:                  # only this bank can be dirty
            self._place_dirty()
        part, rank, group = self.part[bank], self.rank_of[bank], self.group_of[bank]
        value = self._bus_ready(rank, group, part[ENTRY][2])
        if part[KIND]:
            value = max(value, self.rank_act[rank], self.group_rrd[group])
        return bank, part[BOUND] if part[BOUND] > value else value

    def _best_waiting(self, best: int, best_key: int) -> tuple[int, int]:
        """Waiting banks whose own bound does not rule them out (a prefix of the list);
        those that have reached their class floor become ready."""
        waiting, floor, part_of, ready = self.waiting, self.floor, self.part, self.ready
        hot, same = self.last_col_group, self.last_col + self.col_same
        looked, stay = 0, []
        for item in waiting:                # a bank's clock as in ``_choose``
            bound = item >> KEY_BITS
            if bound > best:
                break
            looked += 1
            bank, key = item & BANK_MASK, item & KEY_MASK
            cls, group = part_of[bank][CLASS], self.group_of[bank]
            low = floor[cls]
            clock = bound if bound > low else low
            if self.class_extra[cls][group] > clock:
                clock = self.class_extra[cls][group]
            if group == hot and same > clock:
                clock = same
            if clock < best or (clock == best and key < best_key):
                best, best_key = clock, key
            if bound <= low:
                insort(ready[cls], key)
                self.home[bank] = cls
            else:
                stay.append(item)
        waiting[:looked] = stay
        return best, best_key
