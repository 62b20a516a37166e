"""Physical address map: which channel, rank, bank group, bank and row a byte lives in.

The address space is cut into *blocks* of ``interleave_bytes``. Reading the
block index from its least significant digit up, the fields are::

    block offset | channel | bank group | bank | rank | block-in-row | row
    (interleave)   (LSB of the block index)                         (MSB)

so consecutive blocks of a linear tile visit every channel first, then every
bank group (consecutive blocks in one channel land in different bank groups,
which hides DDR4's tCCD_L), then every bank and rank, and only then come back to
the same bank — into the same row, as long as the tile is shorter than one row
per bank. A row holds ``row_bytes / interleave_bytes`` blocks of one bank.

``interleave_bytes == row_bytes`` gives the classic row-interleaved map
(a whole row is contiguous): with one channel that is exactly DRAMsim3's DDR4
``rochrababgco`` map and, up to the order of bank and bank group, its HBM2
``rorabgbachco`` map — the calibration benchmark uses it for that reason.
The accelerator's default is 256 B (four 64 B bursts), so even a 1 KiB
transfer is spread over channels.

Everything is integer arithmetic (division and modulo, so the counts need not
be powers of two). ``decode`` lists a transaction block by block, never burst
by burst. ``span`` describes it without listing blocks at all, which is what
the DRAM model uses: because the fields are digits of the
block index, the blocks of one channel are a contiguous run of that channel's
own block index, and the blocks of one bank are one per *period* of
``channels * banks_per_channel`` blocks, all periods sharing the same layout.
Laid out as a grid of periods (rows) by the ``period_blocks`` positions in a
period (columns), a column is one (channel, bank) and a grid row has one DRAM
row number — so a tile's row-buffer behaviour follows from its first and last
block alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from memory.presets import DramPreset

DEFAULT_INTERLEAVE_BYTES = 256


@dataclass(frozen=True)
class Blocks:
    """The blocks one transaction touches, in address order (parallel arrays)."""

    channel: np.ndarray
    rank: np.ndarray
    bank_group: np.ndarray     # flat within a channel: rank * bank_groups + group
    bank: np.ndarray           # flat within a channel: rank * banks_per_rank + ...
    row: np.ndarray
    nbytes: np.ndarray
    bursts: np.ndarray         # bursts touched (a partial burst costs a whole one)


class Layout(NamedTuple):
    """What each position of a period holds (arrays of ``period_blocks``).

    Position ``p`` holds channel ``p % channels`` and that channel's block
    ``p // channels`` of the period; ``group`` and ``rank`` are flat keys over
    all channels (``(rank * bank_groups + group) * channels + channel`` and
    ``rank * channels + channel``), ready for ``np.bincount``.
    """

    channel: np.ndarray
    group: np.ndarray
    rank: np.ndarray
    all_channels: np.ndarray      # arange(channels)


class Span(NamedTuple):
    """One transaction in closed form: its grid of periods and its per-channel runs.

    Per-channel lists have one entry per channel (zero where untouched; plain
    lists, as a transaction touches a handful of channels); a channel's blocks
    are its own block indices ``first_local .. last_local``.
    """

    first: int                 # first and last block index
    last: int
    period: int                # index of the grid's first period
    periods: int               # grid rows
    first_pos: int             # position of the first block in grid row 0
    last_pos: int              # position of the last block in the last grid row
    head_bursts: int           # bursts and bytes of the first and last blocks
    tail_bursts: int
    head_bytes: int
    tail_bytes: int
    channels: list[int]        # the channels touched, ascending
    touched: list[bool]        # per channel
    first_local: list[int]     # per channel: first and last own block index
    last_local: list[int]
    bursts: list[int]          # per channel
    nbytes: list[int]          # per channel
    head_pos: list[int]        # per channel: grid position of its first block


class TileShape(NamedTuple):
    """A ``Span`` as if its grid started at period 0 (``AddressMap.tile_shape``).

    ``blocks`` is ``last - first``; ``first_local`` and ``last_local`` count a
    channel's own blocks from the grid's first period. Tuples, not lists: a
    cached shape is then no work for the garbage collector.
    """

    blocks: int
    periods: int
    first_pos: int
    last_pos: int
    head_bursts: int
    tail_bursts: int
    head_bytes: int
    tail_bytes: int
    channels: tuple[int, ...]     # touched, ascending (the others have no bursts)
    first_local: tuple[int, ...]
    last_local: tuple[int, ...]
    bursts: tuple[int, ...]
    nbytes: tuple[int, ...]
    head_pos: tuple[int, ...]


@dataclass(frozen=True)
class AddressMap:
    """Block-interleaved map over channels, bank groups, banks and ranks."""

    channels: int
    ranks: int
    bank_groups: int
    banks_per_group: int
    row_bytes: int
    burst_bytes: int
    interleave_bytes: int = DEFAULT_INTERLEAVE_BYTES

    def __post_init__(self) -> None:
        if self.interleave_bytes <= 0 or self.row_bytes % self.interleave_bytes:
            raise ValueError(f"interleave_bytes {self.interleave_bytes} must divide "
                             f"row_bytes {self.row_bytes}")
        if self.interleave_bytes % self.burst_bytes:
            raise ValueError(f"interleave_bytes {self.interleave_bytes} must be a "
                             f"multiple of burst_bytes {self.burst_bytes}")

    @classmethod
    def for_preset(cls, preset: DramPreset,
                   interleave_bytes: int = DEFAULT_INTERLEAVE_BYTES) -> "AddressMap":
        return cls(channels=preset.channels, ranks=preset.ranks,
                   bank_groups=preset.bank_groups, banks_per_group=preset.banks_per_group,
                   row_bytes=preset.row_bytes, burst_bytes=preset.burst_bytes,
                   interleave_bytes=interleave_bytes)

    def decode(self, address: int, length_bytes: int) -> Blocks:
        """Split ``[address, address + length_bytes)`` into blocks and locate each."""
        first = address // self.interleave_bytes
        last = (address + max(length_bytes, 1) - 1) // self.interleave_bytes
        if first == last:  # the common small transaction: plain ints, no temporaries
            lo, hi = address, address + length_bytes
            bursts = (hi - 1) // self.burst_bytes - lo // self.burst_bytes + 1
            one = self._locate(first, max(length_bytes, 0), bursts if hi > lo else 0)
            return Blocks(**{k: np.array([v]) for k, v in one.__dict__.items()})
        index = np.arange(first, last + 1, dtype=np.int64)
        lo = np.maximum(index * self.interleave_bytes, address)
        hi = np.minimum((index + 1) * self.interleave_bytes, address + length_bytes)
        nbytes = np.maximum(hi - lo, 0)
        bursts = np.where(nbytes > 0, (hi - 1) // self.burst_bytes - lo // self.burst_bytes + 1, 0)
        return self._locate(index, nbytes, bursts)

    def _locate(self, index: Any, nbytes: Any, bursts: Any) -> Blocks:
        """Field values for block indices (numpy arrays or plain ints alike)."""
        channel, rest = index % self.channels, index // self.channels
        group, rest = rest % self.bank_groups, rest // self.bank_groups
        bank, rest = rest % self.banks_per_group, rest // self.banks_per_group
        rank, rest = rest % self.ranks, rest // self.ranks
        row = rest // (self.row_bytes // self.interleave_bytes)
        banks_per_rank = self.bank_groups * self.banks_per_group
        return Blocks(channel=channel, rank=rank,
                      bank_group=rank * self.bank_groups + group,
                      bank=rank * banks_per_rank + group * self.banks_per_group + bank,
                      row=row, nbytes=nbytes, bursts=bursts)

    # -- closed form over periods (used by the DRAM model) --------------------------

    @cached_property
    def banks_per_channel(self) -> int:
        return self.ranks * self.bank_groups * self.banks_per_group

    @cached_property
    def period_blocks(self) -> int:
        """Blocks after which every (channel, bank) has been visited once."""
        return self.channels * self.banks_per_channel

    @cached_property
    def blocks_per_row(self) -> int:
        return self.row_bytes // self.interleave_bytes

    @cached_property
    def layout(self) -> Layout:
        pos = np.arange(self.period_blocks)
        channel, local = pos % self.channels, pos // self.channels
        group = local % self.bank_groups
        rank = local // (self.bank_groups * self.banks_per_group)
        return Layout(channel=channel,
                      group=(rank * self.bank_groups + group) * self.channels + channel,
                      rank=rank * self.channels + channel,
                      all_channels=np.arange(self.channels))

    def bank_of_position(self, pos: np.ndarray) -> np.ndarray:
        """The ``Blocks.bank`` number (flat within a channel) of grid positions."""
        local = pos // self.channels
        group = local % self.bank_groups
        bank = local // self.bank_groups % self.banks_per_group
        rank = local // (self.bank_groups * self.banks_per_group)
        return (rank * self.bank_groups + group) * self.banks_per_group + bank

    def rank_of_local(self, local: np.ndarray) -> np.ndarray:
        """Rank of a channel's own block index."""
        return local // (self.bank_groups * self.banks_per_group) % self.ranks

    def shape_key(self, address: int, length_bytes: int) -> tuple[int, int, int]:
        """What a transaction's ``TileShape`` depends on: its first block's position in a
        period, its offset inside that block, and its length."""
        il = self.interleave_bytes
        return address // il % self.period_blocks, address % il, length_bytes

    def tile_shape(self, address: int, length_bytes: int) -> TileShape:
        """``span`` without where its grid starts, for ``length_bytes > 0``: the same for
        every address of one ``shape_key``, so callers may cache it."""
        il, bb, ch_n, p = self.interleave_bytes, self.burst_bytes, self.channels, self.period_blocks
        address = address // il % p * il + address % il      # the same shape in period 0
        end = address + length_bytes
        first, last = address // il, (end - 1) // il
        head_hi, tail_lo = min((first + 1) * il, end), max(last * il, address)
        head_bursts = (head_hi - 1) // bb - address // bb + 1
        tail_bursts = (end - 1) // bb - tail_lo // bb + 1
        # a channel's blocks are its own block indices from first_local to last_local
        # (a handful of channels: plain Python beats numpy on such short lists)
        first_local = [first // ch_n + (ch < first % ch_n) for ch in range(ch_n)]
        last_local = [last // ch_n - (ch > last % ch_n) for ch in range(ch_n)]
        blocks = [max(hi - lo + 1, 0) for lo, hi in zip(first_local, last_local)]
        full = il // bb
        bursts, nbytes = [n * full for n in blocks], [n * il for n in blocks]
        bursts[first % ch_n] -= full - head_bursts
        nbytes[first % ch_n] -= il - (head_hi - address)
        if last > first:
            bursts[last % ch_n] -= full - tail_bursts
            nbytes[last % ch_n] -= il - (end - tail_lo)
        channels = (self._all_channels if last - first >= ch_n - 1
                    else tuple([ch for ch in range(ch_n) if blocks[ch]]))
        return TileShape(last - first, last // p + 1, first, last % p, head_bursts, tail_bursts,
                         head_hi - address, end - tail_lo, channels, tuple(first_local),
                         tuple(last_local), tuple(bursts), tuple(nbytes),
                         tuple([(i * ch_n + ch) % p for ch, i in enumerate(first_local)]))

    @cached_property
    def _all_channels(self) -> tuple[int, ...]:
        return tuple(range(self.channels))

    def span(self, address: int, length_bytes: int) -> Span:
        """``decode`` in closed form, for ``length_bytes > 0``."""
        shape = self.tile_shape(address, length_bytes)
        first = address // self.interleave_bytes
        period = first // self.period_blocks
        local = period * self.banks_per_channel     # a channel's own blocks before the grid
        return Span(first=first, last=first + shape.blocks, period=period,
                    periods=shape.periods, first_pos=shape.first_pos, last_pos=shape.last_pos,
                    head_bursts=shape.head_bursts, tail_bursts=shape.tail_bursts,
                    head_bytes=shape.head_bytes, tail_bytes=shape.tail_bytes,
                    channels=list(shape.channels), touched=[n > 0 for n in shape.bursts],
                    first_local=[local + i for i in shape.first_local],
                    last_local=[local + i for i in shape.last_local],
                    bursts=list(shape.bursts), nbytes=list(shape.nbytes),
                    head_pos=list(shape.head_pos))
