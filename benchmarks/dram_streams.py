"""The eight DRAM calibration streams C1-C8, generated from their definitions.

R is the request size in bytes (64; 128 for LPDDR4, whose burst is 128 B).
Each random stream draws from its own ``numpy.random.default_rng(7)``.

    C1  sequential writes from 0, 32 MiB
    C2  200 000 random R-aligned requests over [0, 1 GiB), each a write with p = 0.5
    C3  two sequential read streams at 0 and 128 MiB, interleaved in 2 KiB chunks, 16 MiB each
    C4  for a = 0, R, 2R ... < 16 MiB: read a, then write a + 64 MiB
    C5  200 000 reads at i * 2 KiB
    C6  8192 random 4 KiB-aligned 4 KiB tiles over [0, 1 GiB), each all-read (p = 0.7)
        or all-write, swept sequentially
    C7  100 000 reads at i * 64 KiB
    C8  131 072 random 256 B-aligned 256 B tiles over [0, 256 MiB), reads, swept sequentially

``stream(name, R)`` returns (byte addresses, is_write), both numpy arrays.
"""

from __future__ import annotations

import numpy as np

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
NAMES = tuple(f"C{i}" for i in range(1, 9))


def _tiles(starts: np.ndarray, tile_bytes: int, request_bytes: int) -> np.ndarray:
    """Every request of each tile, tiles in order, each swept from its start."""
    offsets = np.arange(tile_bytes // request_bytes, dtype=np.int64) * request_bytes
    return (starts[:, None] + offsets[None, :]).ravel()


def stream(name: str, request_bytes: int = 64) -> tuple[np.ndarray, np.ndarray]:
    r = request_bytes
    rng = np.random.default_rng(7)
    if name == "C1":
        a = np.arange(32 * MIB // r, dtype=np.int64) * r
        return a, np.ones(len(a), dtype=bool)
    if name == "C2":
        a = rng.integers(0, GIB // r, 200_000, dtype=np.int64) * r
        return a, rng.random(len(a)) < 0.5
    if name == "C3":
        chunk = 2 * KIB
        starts = np.arange(16 * MIB // chunk, dtype=np.int64) * chunk
        pairs = np.stack([starts, starts + 128 * MIB], axis=1).ravel()
        a = _tiles(pairs, chunk, r)
        return a, np.zeros(len(a), dtype=bool)
    if name == "C4":
        base = np.arange(16 * MIB // r, dtype=np.int64) * r
        a = np.stack([base, base + 64 * MIB], axis=1).ravel()
        return a, np.tile([False, True], len(base))
    if name == "C5":
        a = np.arange(200_000, dtype=np.int64) * 2 * KIB
        return a, np.zeros(len(a), dtype=bool)
    if name == "C6":
        starts = rng.integers(0, GIB // (4 * KIB), 8192, dtype=np.int64) * 4 * KIB
        writes = rng.random(8192) >= 0.7
        per_tile = 4 * KIB // r
        return _tiles(starts, 4 * KIB, r), np.repeat(writes, per_tile)
    if name == "C7":
        a = np.arange(100_000, dtype=np.int64) * 64 * KIB
        return a, np.zeros(len(a), dtype=bool)
    if name == "C8":
        starts = rng.integers(0, 256 * MIB // 256, 131_072, dtype=np.int64) * 256
        a = _tiles(starts, 256, r)
        return a, np.zeros(len(a), dtype=bool)
    raise ValueError(f"stream {name!r}: expected one of {', '.join(NAMES)}")
