"""DRAM presets: the timing, geometry and energy of HBM2, DDR4-3200 and LPDDR4-3200.

A preset is data, not behaviour: the DRAM model in ``memory/dram.py`` reads these
numbers and nothing else. Times are in nanoseconds (converted to accelerator
cycles once, when a ``Dram`` is built); sizes in bytes.

Sources (docs: /work/shared/REFERENCE.md, "DRAM presets" and "Cycle-accurate
reference points"):

- Geometry, burst, tCL/tRCD/tRP/tRAS/tFAW, tREFI/tRFC, device latencies and
  energy per bit: the REFERENCE.md presets table (DRAMsim3 / Ramulator configs).
- tRRD_S/tRRD_L, tCCD_L, tRTRS and the rank count are not in that table; they
  come from DRAMsim3's bundled configs (DDR4_8Gb_x8_3200.ini: tCK 0.63 ns,
  tRRD_S 4, tRRD_L 8, tCCD_L 8, tRTRS 1 clocks, a 16 GB channel of 8 GB ranks
  = 2 ranks; HBM2_8Gb_x128.ini: tCK 1 ns, tRRD_S 4, tRRD_L 6, tCCD_L 2, one rank)
  and, for LPDDR4 (no bank groups), JEDEC JESD209-4 (tRRD 10 ns, tCCD 8 clocks
  = one BL16 burst).
- Activation energy (not tabulated anywhere we can cite directly): DRAMsim3's
  IDD model, E_act = VDD·(IDD0·tRC − IDD3N·tRAS − IDD2N·tRP) per device, times
  the devices that open a row together. DDR4 (IDD0 57, IDD3N 52, IDD2N 37 mA,
  1.2 V, 8 x8 devices per rank): 0.52 nJ × 8 = 4.2 nJ per 8 KB row. HBM2
  (IDD0 65, IDD3N 55, IDD2N 40 mA, 1.2 V, one device per channel): 0.83 nJ per
  1 KB row. LPDDR4 has no IDD values in our sources: assumed DDR4's energy per
  KB of row opened (0.52 nJ/KB) × 2 KB = 1.05 nJ.

Default channel counts (the accelerator's memory system, an assumption):
HBM2 = one stack, 8 channels (256 GB/s); DDR4-3200 = 4 channels (102.4 GB/s,
a four-DIMM accelerator board); LPDDR4-3200 = 4 x32 channels (51.2 GB/s, a
mobile-SoC-class package). All can be overridden through DramConfig.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from memory.config import DramConfig, DramConfigError


@dataclass(frozen=True)
class DramTiming:
    """Device timing parameters, in nanoseconds."""

    t_cl_ns: float
    t_rcd_ns: float
    t_rp_ns: float
    t_ras_ns: float
    t_faw_ns: float
    t_rrd_s_ns: float       # activate to activate, different bank groups
    t_rrd_l_ns: float       # activate to activate, same bank group
    t_ccd_l_ns: float       # column to column, same bank group
    t_rtrs_ns: float        # rank-to-rank data bus turnaround
    t_refi_ns: float
    t_rfc_ns: float
    latency_hit_ns: float   # device read latency on an open row (tCL + one burst)
    latency_miss_ns: float  # bank precharged: + tRCD
    latency_conflict_ns: float  # another row open: + tRP + tRCD

    @property
    def t_rc_ns(self) -> float:
        """Row cycle: the fastest one bank can activate twice."""
        return self.t_ras_ns + self.t_rp_ns

    @property
    def refresh_fraction(self) -> float:
        return self.t_rfc_ns / self.t_refi_ns


@dataclass(frozen=True)
class DramPreset:
    """One DRAM technology with the accelerator's channel count and overrides applied."""

    name: str
    channels: int
    peak_gbps_per_channel: float    # GB/s = bytes per ns
    burst_bytes: int
    ranks: int                      # per channel
    bank_groups: int                # per rank
    banks_per_group: int
    row_bytes: int                  # one row across the devices of a rank
    timing: DramTiming
    latency_ns: float               # bandwidth-only model's fixed latency
    energy_pj_per_bit: float
    activation_energy_pj: float

    @property
    def banks_per_rank(self) -> int:
        return self.bank_groups * self.banks_per_group

    @property
    def banks_per_channel(self) -> int:
        return self.ranks * self.banks_per_rank

    @property
    def peak_gbps(self) -> float:
        return self.peak_gbps_per_channel * self.channels

    @property
    def burst_ns(self) -> float:
        """Data-bus time of one burst at the peak bandwidth."""
        return self.burst_bytes / self.peak_gbps_per_channel


HBM2 = DramPreset(
    name="hbm2", channels=8, peak_gbps_per_channel=32.0, burst_bytes=64,
    ranks=1, bank_groups=4, banks_per_group=4, row_bytes=1024,
    timing=DramTiming(
        t_cl_ns=14.0, t_rcd_ns=14.0, t_rp_ns=14.0, t_ras_ns=34.0, t_faw_ns=30.0,
        t_rrd_s_ns=4.0, t_rrd_l_ns=6.0, t_ccd_l_ns=2.0, t_rtrs_ns=0.0,
        t_refi_ns=3900.0, t_rfc_ns=260.0,
        latency_hit_ns=16.0, latency_miss_ns=30.0, latency_conflict_ns=44.0),
    latency_ns=16.0, energy_pj_per_bit=3.9, activation_energy_pj=830.0,
)

DDR4_3200 = DramPreset(
    name="ddr4-3200", channels=4, peak_gbps_per_channel=25.6, burst_bytes=64,
    ranks=2, bank_groups=4, banks_per_group=4, row_bytes=8192,
    timing=DramTiming(
        t_cl_ns=13.75, t_rcd_ns=13.75, t_rp_ns=13.75, t_ras_ns=32.5, t_faw_ns=21.25,
        t_rrd_s_ns=2.5, t_rrd_l_ns=5.0, t_ccd_l_ns=5.0, t_rtrs_ns=0.625,
        t_refi_ns=7800.0, t_rfc_ns=350.0,
        latency_hit_ns=16.0, latency_miss_ns=30.0, latency_conflict_ns=44.0),
    # 15 pJ/bit: the middle of REFERENCE.md's 10-20 pJ/bit (IDD model + I/O).
    latency_ns=16.0, energy_pj_per_bit=15.0, activation_energy_pj=4200.0,
)

LPDDR4_3200 = DramPreset(
    name="lpddr4-3200", channels=4, peak_gbps_per_channel=12.8, burst_bytes=64,
    ranks=1, bank_groups=1, banks_per_group=8, row_bytes=2048,
    timing=DramTiming(
        t_cl_ns=20.0, t_rcd_ns=18.1, t_rp_ns=16.9, t_ras_ns=42.5, t_faw_ns=40.0,
        t_rrd_s_ns=10.0, t_rrd_l_ns=10.0, t_ccd_l_ns=5.0, t_rtrs_ns=0.0,
        t_refi_ns=3900.0, t_rfc_ns=180.0,
        latency_hit_ns=25.0, latency_miss_ns=43.0, latency_conflict_ns=60.0),
    latency_ns=25.0, energy_pj_per_bit=8.0, activation_energy_pj=1050.0,
)

PRESETS: dict[str, DramPreset] = {p.name: p for p in (HBM2, DDR4_3200, LPDDR4_3200)}


def get_preset(name: str) -> DramPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise DramConfigError(f"dram.preset: {name!r}, expected one of {', '.join(PRESETS)}") from None


def resolve_dram(cfg: DramConfig) -> DramPreset:
    """The preset named by ``cfg`` with its non-default overrides applied.

    ``channels == 0``, ``peak_gbps_per_channel == 0`` and ``latency_ns == -1``
    mean "the preset's value". Changing the peak bandwidth shortens the burst
    time; the device's command timings (tCCD, tFAW, ...) stay as they are.
    """
    preset = get_preset(cfg.preset)
    changes: dict[str, object] = {}
    if cfg.channels > 0:
        changes["channels"] = cfg.channels
    if cfg.peak_gbps_per_channel > 0:
        changes["peak_gbps_per_channel"] = float(cfg.peak_gbps_per_channel)
    if cfg.latency_ns >= 0:
        changes["latency_ns"] = float(cfg.latency_ns)
    return replace(preset, **changes) if changes else preset
