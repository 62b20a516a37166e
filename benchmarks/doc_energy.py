"""docs/energy-area-gpu.md's generated blocks: the SRAM fit, per-action prices, the area.

Every number comes from ``reports.tech``, ``reports.energy`` and ``reports.area``
on the default configuration (``tlm.config.SystemConfig()``); the descriptions
are this file's. A count key or area component the code adds without a
description here is printed as "(not described yet)", so the table never
silently drops one.
"""

from __future__ import annotations

import dataclasses

from docblocks import md_table

ACTIONS = {
    "fe.add": "int add of `fe.lut_entry_bits` (LUT build, partial sums)",
    "fe.lut_read": "`lut_entry_bits` read of one FE LUT bank (`fe.lut_buffer_kib / fe.pes`)",
    "fe.lut_write": "`lut_entry_bits` write of one FE LUT bank (every copy counted)",
    "fe.weight_read": "`fe.weight_bits` read of the same bank (weights into a LUT build; "
                      "the accumulate ablation's weights)",
    "be.mac": "`grad_bits` mult + add at 2 × `grad_bits`, + a `weight_bits` read of the lane's "
              "bank of `be.weight`",
    "wue.add": "int add of `wue.lut_entry_bits`",
    "wue.mul": "`grad_bits` mult (the SGD step's lr · dW)",
    "wue.lut_read": "`lut_entry_bits` read of one WUE PE's LUT (2^k entries)",
    "wue.lut_write": "the same, write",
    "lif.mul": "`membrane_bits` mult (decay)",
    "lif.add": "`membrane_bits` add",
    "lif.compare": "priced as a `membrane_bits` add (threshold and mask compares)",
    "lif.select": "priced as a `membrane_bits` add (reset, gradient gating)",
    "lif.membrane_read": "`membrane_bits` read of the lane's bank of `lif.membrane` "
                         "(`membrane_buffer_kib / lif.lanes`)",
    "lif.membrane_write": "the same, write",
    "wue.grad_read": "`grad_bits` read of the PE's bank of `wue.grad` (dW accumulation, SGD)",
    "wue.grad_write": "the same, write",
}
PRICED_ELSEWHERE = [
    ("`sram.<buffer>.read_bytes` / `write_bytes`", "§ 2, at the buffer's capacity "
     "(`buffer_capacities_bytes`, else the config's `*_buffer_kib`)"),
    ("`dram.read_bytes` + `dram.write_bytes`", "bytes × 8 × `dram_pj_per_bit` (the caller "
     "passes the preset's value)"),
    ("`dram.activations`", "× `dram_activation_pj`"),
    ("leakage", "leakage W/mm² × `area_model(cfg).total_mm2` × `total_cycles` × cycle time"),
]
AREA = {
    "fe_pes": "`fe.pes` × (adder + accumulator and k-bit pattern registers), entry width",
    "be_lanes": "`be.lanes × macs_per_lane` × (mult + 2×-wide adder + 3 × `grad_bits` of "
                "registers)",
    "wue_pes": "`wue.pes` × (adder + accumulator and spike-history registers)",
    "wue_lut": "`wue.pes` × 2^k × entry bits of flip-flops",
    "lif_lanes": "`lif.lanes` × (2 mults, 1 adder, 2 comparators, membrane + gradient registers)",
    "control_interconnect": "30 % of the above (assumption: control, NoC, clock tree and "
                            "~75–80 % placement utilisation)",
}


def with_tech(tech: str):
    from tlm.config import SystemConfig
    cfg = SystemConfig()
    return dataclasses.replace(cfg, energy=dataclasses.replace(cfg.energy, tech=tech))


def sram_fit() -> str:
    from reports import tech
    read, area = tech.SRAM_READ_FIT_32NM, tech.SRAM_AREA_FIT_32NM
    rows, worst = [], 0.0
    for size, pj, mm2 in zip(tech.CACTI_32NM_SIZES_BYTES, tech.CACTI_32NM_READ_PJ,
                             tech.CACTI_32NM_AREA_MM2):
        e, a = read(size) / pj - 1, area(size) / mm2 - 1
        worst = max(worst, abs(e))
        rows.append([_size(size), f"{pj:g}", f"{read(size):.3g} ({e:+.0%})", f"{mm2:g}",
                     f"{area(size):.3g} ({a:+.0%})"])
    table = md_table(["size", "read pJ", "fit pJ", "area mm²", "fit mm²"], rows)
    c2, c1, c0 = read.coeffs
    sizes = tech.CACTI_32NM_SIZES_BYTES
    local = ", ".join(f"{read.exponent(s):.2f} at {_size(s)}"
                      for s in (sizes[0], sizes[2], sizes[-1]))
    worst_area = max(abs(area(s) / a - 1) for s, a in zip(sizes, tech.CACTI_32NM_AREA_MM2))
    return (f"{table}\n\nRead energy: `ln E = c0 + c1·u + c2·u²`, `u = ln(size / "
            f"{_size(read.pivot_bytes)})`, c = ({c0:.3f}, {c1:.3f}, {c2:.3f}); local exponent "
            f"{local}; worst point {worst:.0%} off. {plain_power_law()} Area: `area ∝ "
            f"size^{area.coeffs[0]:.3f}`, every point within {worst_area:.0%}.")


def _size(nbytes: float) -> str:
    return f"{nbytes / (1 << 20):g} MiB" if nbytes >= 1 << 20 else f"{nbytes / 1024:g} KiB"


def plain_power_law() -> str:
    """The least-squares power law through the CACTI read points, and what it misses."""
    import numpy as np
    from reports import tech
    sizes, pj = np.array(tech.CACTI_32NM_SIZES_BYTES, float), np.array(tech.CACTI_32NM_READ_PJ)
    slope, icept = np.polyfit(np.log(sizes), np.log(pj), 1)
    misses = np.exp(icept) * sizes ** slope / pj - 1
    worst = ", ".join(f"{_size(s)} by {m:+.0%}" for s, m in zip(sizes, misses)
                      if abs(m) >= 0.5 * np.abs(misses).max())
    return (f"A plain power law through the same points has exponent "
            f"{tech.sram_plain_power_law_exponent():.3f} and misses {worst}.")


def prices() -> str:
    from reports import tech
    return "Example 28 nm prices: " + ", ".join(
        f"{kib} KiB buffer {tech.sram_read_pj(kib * 1024, 64, '28nm') / 8:.2f} pJ/byte"
        for kib in (64, 512, 8192)) + " (reads; `sram_read_pj(capacity, 64, '28nm') / 8`)."


def action_table() -> str:
    from reports.energy import (COMPUTE_COMPONENTS, action_energies_pj, config_buffer_capacities,
                                default_sram_banks)
    priced = {}
    for tech in ("28nm", "45nm"):
        cfg = with_tech(tech)
        priced[tech] = action_energies_pj(cfg, config_buffer_capacities(cfg),
                                          default_sram_banks(cfg))
    rows = [[f"`{key}`", ACTIONS.get(key, "(not described yet)"), f"{priced['28nm'][key]:.3g}",
             f"{priced['45nm'][key]:.3g}"] for key in COMPUTE_COMPONENTS]
    rows += [[key, what, "", ""] for key, what in PRICED_ELSEWHERE]
    return md_table(["count key", "priced as", "28 nm pJ (defaults)", "45 nm pJ"], rows)


def lut_macro() -> str:
    from reports import tech
    cfg = with_tech("28nm")
    macro = cfg.fe.lut_buffer_kib * 1024
    one = tech.sram_read_pj(macro, cfg.fe.lut_entry_bits, "28nm")
    banked = tech.sram_read_pj(macro / cfg.fe.pes, cfg.fe.lut_entry_bits, "28nm")
    return (f"`sram_banks={{\"fe.lut\": 1}}` prices the FE LUT as one {cfg.fe.lut_buffer_kib:,} "
            f"KiB macro instead ({one:.1f} pJ per {cfg.fe.lut_entry_bits}-bit lookup at 28 nm: "
            f"{one / banked:.0f}× the banked price of {banked:.3f} pJ).")


def area_table() -> str:
    from reports.area import area_model
    cfg, cfg45 = with_tech("28nm"), with_tech("45nm")
    area = area_model(cfg)
    sram = {k: v for k, v in area.by_component.items() if k.startswith("sram_")}
    rows = [[f"`{k}`", AREA.get(k, "(not described yet)"), f"{v:.3f}"]
            for k, v in area.by_component.items() if k not in sram and k != "control_interconnect"]
    rows.append(["`sram_<buffer>`", "every `<section>.<name>_buffer_kib` of the config, one "
                 "macro each (§ 2)", f"{sum(sram.values()):.2f} in all"])
    rows.append(["`control_interconnect`", AREA["control_interconnect"],
                 f"{area.by_component['control_interconnect']:.2f}"])
    rows.append(["**total**", "", f"**{area.total_mm2:.2f}** (45 nm: "
                 f"{area_model(cfg45).total_mm2:.1f})"])
    share = sum(sram.values()) / area.total_mm2
    return (md_table(["component", "model (per unit)", "default 28 nm mm²"], rows, right={2})
            + f"\n\nWith the default config the SRAM macros are {share:.0%} of the die.")
