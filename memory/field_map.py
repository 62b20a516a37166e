"""Address map spelled as DRAMsim3 spells it: a field order string, MSB first.

``"rochrababgco"`` reads ro(w) ch(annel) ra(nk) ba(nk) b(ank )g(roup) co(lumn):
the byte address, above the offset inside one burst, is cut into those fields
from the least significant end (column first here). Every field is a digit of
a mixed-radix number (division and modulo), so counts need not be powers of
two; the row takes whatever is left. With ``xor_bank`` the bank, bank-group
and channel digits are XORed with the low digits of the row (permutation-based
interleaving, Zhang, Zhu and Zhang, MICRO 2000): strides that would pile onto
one bank or channel are spread out, and the map stays one-to-one.

Decoding is vectorised: a whole stream of addresses at once (numpy int64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

FIELDS = ("ro", "ch", "ra", "bg", "ba", "co")


class Decoded(NamedTuple):
    """Per address: channel, flat bank within the channel, and row (int64 arrays)."""

    channel: np.ndarray
    bank: np.ndarray          # (rank * bank_groups + group) * banks_per_group + bank
    row: np.ndarray


@dataclass(frozen=True)
class FieldMap:
    order: str                # e.g. "rochrababgco", MSB first, each field once
    channels: int
    ranks: int
    bank_groups: int
    banks_per_group: int
    columns: int              # bursts per row
    burst_bytes: int
    xor_bank: bool = False

    def __post_init__(self) -> None:
        fields = [self.order[i:i + 2] for i in range(0, len(self.order), 2)]
        if len(self.order) != 12 or sorted(fields) != sorted(FIELDS):
            raise ValueError(f"address map {self.order!r}: expected the six fields "
                             f"{', '.join(FIELDS)} once each, MSB first (e.g. 'rochrababgco')")
        if fields[0] != "ro":
            raise ValueError(f"address map {self.order!r}: the row must be the most "
                             "significant field")

    def radices(self) -> list[tuple[str, int]]:
        """(field, count) from the least significant field up, the row excluded."""
        count = {"ch": self.channels, "ra": self.ranks, "bg": self.bank_groups,
                 "ba": self.banks_per_group, "co": self.columns}
        fields = [self.order[i:i + 2] for i in range(0, 12, 2)]
        return [(f, count[f]) for f in reversed(fields) if f != "ro"]

    def decode(self, addresses: np.ndarray) -> Decoded:
        rest = np.asarray(addresses, dtype=np.int64) // self.burst_bytes
        digit: dict[str, np.ndarray] = {}
        for field, count in self.radices():
            digit[field], rest = rest % count, rest // count
        row = rest
        if self.xor_bank:
            spread = row
            for field in ("ba", "bg", "ch"):
                count = {"ba": self.banks_per_group, "bg": self.bank_groups,
                         "ch": self.channels}[field]
                digit[field] = _xor_digit(digit[field], spread, count)
                spread = spread // count
        bank = ((digit["ra"] * self.bank_groups + digit["bg"]) * self.banks_per_group
                + digit["ba"])
        return Decoded(digit["ch"], bank, row)


def _xor_digit(value: np.ndarray, key: np.ndarray, count: int) -> np.ndarray:
    """``value`` XOR the low bits of ``key`` for power-of-two counts, else a modular shift:
    both are one-to-one for a fixed key."""
    if count & (count - 1) == 0:
        return value ^ (key & (count - 1))
    return (value + key) % count
