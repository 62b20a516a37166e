"""Transactions: the TLM-2.0 generic payload, reduced to what this model needs.

A transaction is one tile (or a row-sized chunk) moved between an engine's
buffers and DRAM — never a single burst, so the event count stays proportional
to tiles. Like the SystemC generic payload it carries a command, an address, a
length in bytes and a response status; the extensions say what tensor it is and
for which layer, timestep and phase, which is what the statistics are keyed by.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class Command(enum.Enum):
    READ = "read"
    WRITE = "write"


class Response(enum.Enum):
    INCOMPLETE = "incomplete"
    OK = "ok"
    ADDRESS_ERROR = "address_error"


@dataclass(frozen=True, slots=True)
class Transaction:
    """An immutable memory transaction (generic payload + extensions)."""

    command: Command
    address: int
    length_bytes: int
    # extensions
    tensor: str = ""       # e.g. "weights", "spikes_in", "du", "membrane"
    layer: int = -1
    timestep: int = -1
    phase: str = ""        # "forward" | "backward" | "weight_update"
    initiator: str = ""    # name of the DMA / engine that issued it
    response: Response = Response.INCOMPLETE

    @property
    def is_read(self) -> bool:
        return self.command is Command.READ

    def completed(self, response: Response = Response.OK) -> "Transaction":
        return replace(self, response=response)
