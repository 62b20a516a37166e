"""Command-level timing of a DRAM part, in memory clocks (tCK), and its organisation.

This is what the per-channel controller (``memory/controller.py``) schedules
against: every constraint between two DRAM commands (ACT, PRE, RD, WR, REF)
that the JEDEC standards define and DRAMsim3 enforces, plus the controller's
queue depths. The values of the reference parts are those of DRAMsim3's
bundled configuration files (DRAMsim3, github.com/umd-memsys/DRAMsim3, commit
29817593b3389f1337235d63cac515024ab8fd6e: ``configs/DDR4_8Gb_x8_3200.ini``,
``HBM2_8Gb_x128.ini``, ``LPDDR4_8Gb_x16_2400.ini``), after DRAMsim3's own
derivations (ranks from the channel size, HBM's doubled column count, tRC =
tRAS + tRP, tRTP = 5 on HBM2); the HBM2E and HBM3 parts are documented in
docs/dram.md with their sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class CommandTiming:
    """Timing constraints in memory clocks; organisation per channel."""

    tck_ns: float
    burst_clocks: int        # data-bus clocks of one burst (BL / 2)
    burst_bytes: int         # bytes one column command moves (bus width / 8 * BL)
    ranks: int
    bank_groups: int
    banks_per_group: int
    row_bytes: int           # one row across the devices of a rank
    cl: int                  # read command to first data
    cwl: int                 # write command to first data
    rcd: int                 # ACT to column command
    rp: int                  # PRE to ACT
    ras: int                 # ACT to PRE
    rrd_s: int               # ACT to ACT, other bank group (same rank)
    rrd_l: int               # ACT to ACT, same bank group
    faw: int                 # window holding at most four ACTs per rank
    ccd_s: int               # column to column, other bank group
    ccd_l: int               # column to column, same bank group
    wtr_s: int               # end of write data to read, other bank group
    wtr_l: int               # end of write data to read, same bank group
    rtp: int                 # read to PRE
    wr: int                  # end of write data to PRE (write recovery)
    rtrs: int                # rank-to-rank (and read-to-write) bus turnaround
    refi: int                # refresh interval, per rank
    rfc: int                 # refresh cycle: the rank is blocked this long
    read_queue: int = 32     # transaction queue depths (DRAMsim3 trans_queue_size)
    write_queue: int = 32
    bank_queue: int = 8      # per-bank command queue (DRAMsim3 cmd_queue_size)
    drain_low: int = 8       # writes are drained when more than this are waiting and no reads
    max_row_hits: int = 4    # hits a row serves before a waiting conflict may close it
    address_map: str = "rochrababgco"   # the part's default field order (DRAMsim3), MSB first

    @property
    def rc(self) -> int:
        return self.ras + self.rp

    @property
    def banks(self) -> int:
        return self.ranks * self.bank_groups * self.banks_per_group

    @property
    def peak_gbps(self) -> float:
        """One channel's data-bus bandwidth, GB/s (bytes per ns)."""
        return self.burst_bytes / (self.burst_clocks * self.tck_ns)


# DRAMsim3 DDR4_8Gb_x8_3200: 64-bit channel of x8 devices, 16 GiB = 2 ranks, BL8.
DDR4_3200 = CommandTiming(
    tck_ns=0.63, burst_clocks=4, burst_bytes=64, ranks=2, bank_groups=4, banks_per_group=4,
    row_bytes=8192, cl=22, cwl=16, rcd=22, rp=22, ras=52, rrd_s=4, rrd_l=8, faw=34,
    ccd_s=4, ccd_l=8, wtr_s=4, wtr_l=12, rtp=12, wr=24, rtrs=1, refi=12480, rfc=560)

# DRAMsim3 HBM2_8Gb_x128: one 128-bit channel of a stack, BL4, 2 KiB rows, 1 rank.
HBM2 = CommandTiming(
    tck_ns=1.0, burst_clocks=2, burst_bytes=64, ranks=1, bank_groups=4, banks_per_group=4,
    row_bytes=2048, cl=14, cwl=4, rcd=14, rp=14, ras=34, rrd_s=4, rrd_l=6, faw=30,
    ccd_s=1, ccd_l=2, wtr_s=6, wtr_l=8, rtp=5, wr=16, rtrs=2, refi=3900, rfc=260,
    address_map="rorabgbachco")

# DRAMsim3 LPDDR4_8Gb_x16_2400: a 64-bit channel of x16 devices, BL16 (128 B), 2 ranks.
LPDDR4_2400 = CommandTiming(
    tck_ns=0.83, burst_clocks=8, burst_bytes=128, ranks=2, bank_groups=2, banks_per_group=4,
    row_bytes=8192, cl=17, cwl=14, rcd=15, rp=15, ras=32, rrd_s=8, rrd_l=8, faw=32,
    ccd_s=4, ccd_l=6, wtr_s=8, wtr_l=16, rtp=12, wr=30, rtrs=1, refi=8660, rfc=392)

def with_clock(base: CommandTiming, tck_ns: float, **organisation: int) -> CommandTiming:
    """``base`` at another clock: each constraint keeps its time in ns, rounded up to clocks.

    A faster interface does not make the DRAM core faster: row cycle, activation
    windows and refresh stay what the cells need (an assumption, stated in
    docs/dram.md). Burst length and organisation changes are passed explicitly.
    """
    clocked = ("cl", "cwl", "rcd", "rp", "ras", "rrd_s", "rrd_l", "faw", "ccd_l",
               "wtr_s", "wtr_l", "rtp", "wr", "refi", "rfc")
    scale = base.tck_ns / tck_ns
    changes = {f: math.ceil(getattr(base, f) * scale - 1e-9) for f in clocked}
    changes.update(organisation)
    return replace(base, tck_ns=tck_ns, **changes)


# HBM2E (JESD235C, 3.2 Gb/s per pin = a 1.6 GHz clock): HBM2's organisation and core timing.
HBM2E = with_clock(HBM2, 0.625)

# HBM3 (JESD238, 6.4 Gb/s per pin = 3.2 GHz): 16 channels of 64 bits per stack (each
# split into two pseudo channels, modelled together), BL8 = 64 B, 1 KiB rows.
HBM3 = with_clock(HBM2, 0.3125, burst_clocks=4, ccd_s=4, row_bytes=1024)
