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

Everything is integer arithmetic on numpy arrays (division and modulo, so the
counts need not be powers of two). A transaction is decoded block by block,
never burst by burst.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
