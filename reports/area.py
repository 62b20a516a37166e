"""Area: the die as a sum of components priced from the technology tables.

Each engine is a number of identical PEs or lanes (adders, multipliers and
registers from ``reports.tech``) plus its SRAM buffers (the CACTI curve, one
macro per buffer at its configured size). Control, interconnect, clock tree
and placement slack are an overhead fraction of everything else — an
assumption, documented at the constant.

Comparison with the GPU (docs/energy-area-gpu.md): the area saving is the
GPU's die area divided by this total, both as built, with no node scaling —
the only comparison that uses public numbers on both sides (the paper does not
say it normalised). Against the V100's 815 mm² the paper's 7.38× means a die
of about 110 mm².
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reports import tech
from tlm.config import SystemConfig

# Assumption: control, on-chip interconnect, clock tree and placement
# utilisation add 30% on top of PEs and SRAM macros (placement utilisation of
# ~75–80% alone accounts for most of it).
CONTROL_INTERCONNECT_FRACTION = 0.30
UM2_PER_MM2 = 1e6

ENGINE_SECTIONS = ("fe", "be", "wue", "lif")
BUFFER_SUFFIX = "_buffer_kib"


@dataclass(frozen=True)
class AreaBreakdown:
    """Die area; ``by_component`` sums exactly to ``total_mm2``."""

    total_mm2: float
    by_component: dict[str, float]


def area_model(cfg: SystemConfig) -> AreaBreakdown:
    """Area of the configured accelerator at ``cfg.energy.tech``."""
    parts: dict[str, float] = {
        "fe_pes": cfg.fe.pes * fe_pe_um2(cfg) / UM2_PER_MM2,
        "be_lanes": cfg.be.lanes * be_lane_um2(cfg) / UM2_PER_MM2,
        "wue_pes": cfg.wue.pes * wue_pe_um2(cfg) / UM2_PER_MM2,
        "wue_lut": cfg.wue.pes * wue_lut_um2(cfg) / UM2_PER_MM2,
        "lif_lanes": cfg.lif.lanes * lif_lane_um2(cfg) / UM2_PER_MM2,
    }
    for name, kib in config_buffers_kib(cfg).items():
        parts[f"sram_{name}"] = tech.sram_area_mm2(kib * 1024, cfg.energy.tech)
    parts["control_interconnect"] = CONTROL_INTERCONNECT_FRACTION * sum(parts.values())
    return AreaBreakdown(sum(parts.values()), parts)


def config_buffers_kib(cfg: SystemConfig) -> dict[str, int]:
    """Every SRAM buffer of the config: ``<section>.<name>_buffer_kib`` -> ``<section>.<name>``.

    E.g. ``fe.lut_buffer_kib`` is buffer ``fe.lut``, ``lif.membrane_buffer_kib``
    is ``lif.membrane`` — the names the simulator uses for ``sram.<buffer>.*``.
    """
    buffers: dict[str, int] = {}
    for section in ENGINE_SECTIONS:
        values = dataclasses.asdict(getattr(cfg, section))
        for key, kib in values.items():
            if key.endswith(BUFFER_SUFFIX):
                buffers[f"{section}.{key[:-len(BUFFER_SUFFIX)]}"] = int(kib)
    return buffers


def fe_pe_um2(cfg: SystemConfig) -> float:
    """One adder (builds LUTs and accumulates looked-up partial sums), an
    accumulator register and the k-bit pattern register."""
    bits, node = cfg.fe.lut_entry_bits, cfg.energy.tech
    return tech.int_add_um2(bits, node) + tech.register_um2(bits + cfg.fe.lut_k, node)


def be_lane_um2(cfg: SystemConfig) -> float:
    """Per MAC: a grad_bits multiplier, a double-width adder, a double-width
    accumulator and an operand register."""
    bits, node = cfg.be.grad_bits, cfg.energy.tech
    mac = (tech.int_mult_um2(bits, node) + tech.int_add_um2(2 * bits, node)
           + tech.register_um2(3 * bits, node))
    return cfg.be.macs_per_lane_per_cycle * mac


def wue_pe_um2(cfg: SystemConfig) -> float:
    """Adder (LUT build and dW accumulation), accumulator and spike-history registers."""
    bits, node = cfg.wue.lut_entry_bits, cfg.energy.tech
    return tech.int_add_um2(bits, node) + tech.register_um2(bits + cfg.wue.lut_k, node)


def wue_lut_um2(cfg: SystemConfig) -> float:
    """One PE's LUT: 2^k entries held in flip-flops (too small for an SRAM macro)."""
    return tech.register_um2((1 << cfg.wue.lut_k) * cfg.wue.lut_entry_bits, cfg.energy.tech)


def lif_lane_um2(cfg: SystemConfig) -> float:
    """Shared by the forward update and the backward recursion: two multipliers
    (decay; du·h and du·tau), one adder, two comparators (priced as adders) and
    the membrane and gradient registers."""
    bits = max(cfg.lif.membrane_bits, cfg.be.grad_bits)
    node = cfg.energy.tech
    return (2 * tech.int_mult_um2(bits, node) + 3 * tech.int_add_um2(bits, node)
            + tech.register_um2(cfg.lif.membrane_bits + cfg.be.grad_bits, node))
