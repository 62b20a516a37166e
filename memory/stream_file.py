"""Request streams as text, one request per line, as DRAMsim3 and Ramulator read them.

    0x1f40 R            hexadecimal byte address (``0x`` optional) and R / W
    1f80 WRITE 120      READ / WRITE also accepted; an optional issue clock

Blank lines and ``#`` comments are skipped. Issue clocks, when given, must not
decrease. A malformed line is refused with its line number.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

KINDS = {"R": False, "READ": False, "W": True, "WRITE": True}
MAX_STREAM_BYTES = 1 << 31


class StreamFileError(ValueError):
    """A stream file that cannot be read: the message names the file and line."""


class Requests(NamedTuple):
    addresses: np.ndarray     # int64 byte addresses
    is_write: np.ndarray      # bool
    issue: np.ndarray | None  # int64 earliest issue clocks, or None when no line gives one


def read_stream(path: str | Path) -> Requests:
    p = Path(path)
    if not p.is_file():
        raise StreamFileError(f"{p}: not a readable regular file")
    if p.stat().st_size > MAX_STREAM_BYTES:
        raise StreamFileError(f"{p}: larger than {MAX_STREAM_BYTES >> 30} GiB")
    try:
        text = p.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise StreamFileError(f"{p}: cannot read as ASCII text ({exc.__class__.__name__})") from None
    return parse_stream(text.splitlines(), str(p))


def parse_stream(lines: list[str], name: str = "<stream>") -> Requests:
    addresses, writes, issue = [], [], []
    timed = untimed = 0
    for number, line in enumerate(lines, 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        address, write, clock = _parse_line(fields, name, number)
        if clock is None:
            untimed += 1
        else:
            if issue and clock < issue[-1]:
                raise StreamFileError(f"{name}:{number}: issue clock {clock} is before the "
                                      f"previous request's {issue[-1]}")
            timed += 1
            issue.append(clock)
        addresses.append(address)
        writes.append(write)
        if timed and untimed:
            raise StreamFileError(f"{name}:{number}: either every request has an issue "
                                  "clock or none has")
    if not addresses:
        raise StreamFileError(f"{name}: no requests (expected lines like '0x1f40 R')")
    return Requests(np.array(addresses, dtype=np.int64), np.array(writes, dtype=bool),
                    np.array(issue, dtype=np.int64) if timed else None)


def _parse_line(fields: list[str], name: str, number: int) -> tuple[int, bool, int | None]:
    where = f"{name}:{number}"
    if len(fields) not in (2, 3):
        raise StreamFileError(f"{where}: expected 'ADDRESS R|W [CLOCK]', got {len(fields)} fields")
    text = fields[0][2:] if fields[0].lower().startswith("0x") else fields[0]
    try:
        address = int(text, 16)
    except ValueError:
        raise StreamFileError(f"{where}: address {fields[0]!r} is not hexadecimal") from None
    if not 0 <= address < 1 << 62:
        raise StreamFileError(f"{where}: address {fields[0]!r} out of range")
    kind = KINDS.get(fields[1].upper())
    if kind is None:
        raise StreamFileError(f"{where}: {fields[1]!r}, expected R, W, READ or WRITE")
    clock = None
    if len(fields) == 3:
        if not fields[2].isdigit():
            raise StreamFileError(f"{where}: issue clock {fields[2]!r}, expected an integer >= 0")
        clock = int(fields[2])
    return address, kind, clock
