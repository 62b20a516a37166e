"""DRAM presets: the timing, geometry and energy of the parts the model knows.

A preset is data, not behaviour: the DRAM models read these numbers and nothing
else. Times are in nanoseconds (converted to accelerator cycles once, when a
``Dram`` is built); sizes in bytes. docs/dram.md lists every value's source.

- ``ddr4-3200``, ``hbm2``, ``lpddr4-2400`` are DRAMsim3's reference parts
  (DDR4_8Gb_x8_3200, HBM2_8Gb_x128, LPDDR4_8Gb_x16_2400 at DRAMsim3 commit
  29817593b3389f1337235d63cac515024ab8fd6e): their clock-counted timing is in
  ``memory/timing.py`` and the nanosecond timing here is derived from it.
- ``hbm2e`` and ``hbm3`` are HBM2's core at the JESD235C / JESD238 interface
  clocks (``memory.timing.with_clock``).
- ``lpddr4-3200`` is another part: JEDEC JESD209-4 x32 channels, 8 banks, one
  rank, 2 KiB rows (tRRD 10 ns, tCCD 8 clocks = one BL16 burst).
- Activation energy: DRAMsim3's IDD model, E_act = VDD·(IDD0·tRC − IDD3N·tRAS −
  IDD2N·tRP) per device, times the devices that open a row together. DDR4
  (IDD0 57, IDD3N 52, IDD2N 37 mA, 1.2 V, 8 x8 devices per rank): 0.52 nJ × 8 =
  4.2 nJ per 8 KiB row. HBM2 (IDD0 65, IDD3N 55, IDD2N 40 mA, 1.2 V, one device
  per channel): 0.83 nJ per ACT. LPDDR4 (no IDD values in our sources): DDR4's
  0.52 nJ per KiB of row opened.

Default channel counts (the accelerator's memory system, an assumption): HBM2,
HBM2E = one stack of 8 channels (256, 410 GB/s); HBM3 = one stack of 16
(819 GB/s); DDR4-3200 = 4 channels (a four-DIMM board); LPDDR4-2400 = one
64-bit channel as in DRAMsim3; LPDDR4-3200 = 4 x32 channels. All can be
overridden through DramConfig.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from memory import timing
from memory.config import DramConfig, DramConfigError, check_model_keys
from memory.timing import CommandTiming


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
    commands: CommandTiming | None = None   # clock-counted timing for the command-level model

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


def from_commands(name: str, part: CommandTiming, channels: int, energy_pj_per_bit: float,
                  activation_energy_pj: float) -> DramPreset:
    """A preset whose nanosecond timing is the part's clock-counted timing times tCK."""
    ns = part.tck_ns
    hit = (part.cl + part.burst_clocks) * ns
    return DramPreset(
        name=name, channels=channels, peak_gbps_per_channel=part.peak_gbps,
        burst_bytes=part.burst_bytes, ranks=part.ranks, bank_groups=part.bank_groups,
        banks_per_group=part.banks_per_group, row_bytes=part.row_bytes,
        timing=DramTiming(
            t_cl_ns=part.cl * ns, t_rcd_ns=part.rcd * ns, t_rp_ns=part.rp * ns,
            t_ras_ns=part.ras * ns, t_faw_ns=part.faw * ns, t_rrd_s_ns=part.rrd_s * ns,
            t_rrd_l_ns=part.rrd_l * ns, t_ccd_l_ns=part.ccd_l * ns, t_rtrs_ns=part.rtrs * ns,
            t_refi_ns=part.refi * ns, t_rfc_ns=part.rfc * ns, latency_hit_ns=hit,
            latency_miss_ns=hit + part.rcd * ns, latency_conflict_ns=hit + (part.rcd + part.rp) * ns),
        latency_ns=hit, energy_pj_per_bit=energy_pj_per_bit,
        activation_energy_pj=activation_energy_pj, commands=part)


HBM2 = from_commands("hbm2", timing.HBM2, 8, 3.9, 830.0)
# 15 pJ/bit: the middle of the 10-20 pJ/bit of DDR4 interfaces (IDD model + I/O).
DDR4_3200 = from_commands("ddr4-3200", timing.DDR4_3200, 4, 15.0, 4200.0)
# One 64-bit channel, as DRAMsim3's part; 0.52 nJ per KiB of row opened (DDR4's) x 8 KiB.
LPDDR4_2400 = from_commands("lpddr4-2400", timing.LPDDR4_2400, 1, 8.0, 4200.0)
# One stack: 8 channels (HBM2E), 16 channels (HBM3); HBM2's energy per bit and per ACT.
HBM2E = from_commands("hbm2e", timing.HBM2E, 8, 3.9, 830.0)
HBM3 = from_commands("hbm3", timing.HBM3, 16, 3.9, 830.0)

# A different part from lpddr4-2400: JEDEC x32 channels, 8 banks, 1 rank, 2 KiB rows;
# the reservation models only (no command-level timing).
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

PRESETS: dict[str, DramPreset] = {p.name: p for p in (
    HBM2, DDR4_3200, LPDDR4_2400, HBM2E, HBM3, LPDDR4_3200)}


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
    check_model_keys(cfg)
    preset = get_preset(cfg.preset)
    changes: dict[str, object] = {}
    if cfg.channels > 0:
        changes["channels"] = cfg.channels
    if cfg.peak_gbps_per_channel > 0:
        changes["peak_gbps_per_channel"] = float(cfg.peak_gbps_per_channel)
    if cfg.latency_ns >= 0:
        changes["latency_ns"] = float(cfg.latency_ns)
    resolved = replace(preset, **changes) if changes else preset
    il = cfg.interleave_bytes
    if il and (il % resolved.burst_bytes or resolved.row_bytes % il):
        raise DramConfigError(f"dram.interleave_bytes: {il}, expected a multiple of the "
                              f"{resolved.burst_bytes} B burst that divides the "
                              f"{resolved.row_bytes} B row of {resolved.name}")
    return resolved
