"""Energy: action counts from a run × energy per action, plus leakage × runtime.

The simulator only counts (``fe.lut_read``, ``be.mac``, ``sram.be.weight.read_bytes``,
``dram.read_bytes``, ...); this module prices the counts afterwards, in the
Accelergy manner, from the per-action table of ``reports.tech``. Keeping the two
apart means one run can be re-priced for another technology node or DRAM
without simulating again.

Pricing rules (docs/energy-area-gpu.md gives the numbers):

* ``fe.add`` / ``wue.add``: an integer add of the LUT entry width (LUT builds and
  partial-sum accumulation).
* ``*.lut_read`` / ``*.lut_write``: one access of a ``lut_entry_bits`` word in an
  SRAM bank of the LUT storage: the FE LUT buffer (``fe.lut_buffer_kib``) and the
  WUE LUTs (2^k entries per PE) are split into one bank per PE, because each PE
  looks up a data-dependent address every cycle (``default_sram_banks``;
  override with ``sram_banks``).
* ``fe.weight_read`` (accumulate ablation, LUT builds): one ``weight_bits`` word
  from the FE's weight/LUT storage bank.
* ``be.mac``: a ``grad_bits`` multiply plus an add at twice that width (the
  product's width, so the accumulator does not overflow), plus reading its
  weight operand from the BE weight buffer (one bank per lane).
* ``wue.mul``: the SGD step's ``lr · dW`` multiply at ``grad_bits``.
* ``lif.mul`` / ``lif.add`` at ``membrane_bits``; ``lif.compare`` and
  ``lif.select`` (threshold/mask compares, reset and mask multiplexers) are
  priced as an add of that width — an upper bound for a multiplexer.
* ``lif.membrane_read`` / ``_write`` and ``wue.grad_read`` / ``_write``: the
  state the engines keep on chip (membrane potential or du carry; dW
  accumulators), one word of ``membrane_bits`` / ``grad_bits`` in the lane's or
  PE's own bank of that buffer (``default_sram_banks``); booked to the buffer's
  ``sram_<buffer>`` component, next to its DMA traffic.
* ``sram.<buffer>.read_bytes`` / ``write_bytes`` (DMA traffic): buffers are
  accessed in 64-bit words (CACTI's word), so a byte costs an eighth of a
  64-bit access.
* DRAM: bits moved × pJ/bit + activations × activation energy (the preset's
  datasheet-derived figures, docs/dram.md).
* Clock tree and control: ``energy.clock_control_fraction`` × the on-chip
  dynamic energy (compute + SRAM), an assumption (docs/energy-area-gpu.md).
* Leakage: leakage power density × die area (``reports.area``) × runtime.
* Calibration (off by default): ``energy.calibration_power_w`` × runtime,
  booked as its own component ``calibration``. It is not a physical model; it
  appears only when a config (configs/paper-calibrated.toml) sets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from reports import tech
from reports.area import area_model, config_buffers_kib
from tlm.config import SystemConfig

# Compute action -> the component its energy is booked to.
COMPUTE_COMPONENTS: dict[str, str] = {
    "fe.add": "fe_compute", "fe.lut_read": "fe_lut", "fe.lut_write": "fe_lut",
    "fe.weight_read": "fe_lut", "be.mac": "be_compute",
    "wue.add": "wue_compute", "wue.mul": "wue_compute", "wue.lut_read": "wue_lut",
    "wue.lut_write": "wue_lut",
    "lif.mul": "lif", "lif.add": "lif", "lif.compare": "lif", "lif.select": "lif",
    "lif.membrane_read": "sram_lif.membrane", "lif.membrane_write": "sram_lif.membrane",
    "wue.grad_read": "sram_wue.grad", "wue.grad_write": "sram_wue.grad",
}
# Priced per word, not per byte, and carried as state (not DMA): key -> (buffer, word bits field).
STATE_ACCESSES: dict[str, tuple[str, str]] = {
    "lif.membrane_read": ("lif.membrane", "read"), "lif.membrane_write": ("lif.membrane", "write"),
    "wue.grad_read": ("wue.grad", "read"), "wue.grad_write": ("wue.grad", "write"),
}
CLOCK_CONTROL_COMPONENT = "clock_control"
DRAM_KEYS = ("dram.read_bytes", "dram.write_bytes", "dram.activations")
SRAM_ACCESS_BITS = 64  # buffers are read and written in CACTI's 64-bit words
CALIBRATION_COMPONENT = "calibration"  # energy.calibration_power_w × runtime


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy of one run; ``by_component`` sums exactly to ``total_pj``."""

    total_pj: float
    by_component: dict[str, float]
    runtime_s: float

    @property
    def total_j(self) -> float:
        return self.total_pj * 1e-12

    @property
    def modelled_pj(self) -> float:
        """The first-principles energy: the total without the calibration component."""
        return self.total_pj - self.by_component.get(CALIBRATION_COMPONENT, 0.0)

    @property
    def average_power_w(self) -> float:
        return self.total_j / self.runtime_s if self.runtime_s > 0 else 0.0


def config_buffer_capacities(cfg: SystemConfig) -> dict[str, int]:
    """Every on-chip SRAM buffer the config describes, by name, in bytes.

    ``wue.lut`` is not a config field: it is one 2^k-entry LUT per WUE PE.
    """
    capacities = {name: kib * 1024 for name, kib in config_buffers_kib(cfg).items()}
    capacities["wue.lut"] = wue_lut_bytes(cfg)
    return capacities


def wue_lut_bytes(cfg: SystemConfig) -> int:
    """Total WUE LUT storage: pes × 2^k entries × entry width."""
    return cfg.wue.pes * (1 << cfg.wue.lut_k) * cfg.wue.lut_entry_bits // 8


def default_sram_banks(cfg: SystemConfig) -> dict[str, int]:
    """Banking assumed when pricing accesses: one LUT bank per PE; all else one macro.

    A PE makes one lookup per cycle at a data-dependent address, so sustaining
    ``pes`` lookups per cycle needs ``pes`` single-port banks; the streaming
    buffers serve wide sequential words and are priced as one macro each.
    Pass ``sram_banks={"fe.lut": 1}`` to price the FE LUT as one macro.
    """
    return {"fe.lut": cfg.fe.pes, "wue.lut": cfg.wue.pes,
            "lif.membrane": cfg.lif.lanes, "wue.grad": cfg.wue.pes}


def state_word_bits(cfg: SystemConfig) -> dict[str, int]:
    """Word width of each buffer that holds engine state."""
    return {"lif.membrane": cfg.lif.membrane_bits, "wue.grad": cfg.be.grad_bits}


def action_energies_pj(cfg: SystemConfig, capacities: Mapping[str, int],
                       banks: Mapping[str, int]) -> dict[str, float]:
    """Energy per compute action (the keys of COMPUTE_COMPONENTS), in pJ."""
    node = cfg.energy.tech
    fe_bank = _bank_bytes("fe.lut", capacities, banks)
    wue_bank = _bank_bytes("wue.lut", capacities, banks)
    be_bank = _bank_bytes("be.weight", capacities, banks) / cfg.be.lanes  # a lane's own bank
    mem_bits, grad_bits = cfg.lif.membrane_bits, cfg.be.grad_bits
    lif_add = tech.int_add_pj(mem_bits, node)
    return {**_state_prices(cfg, capacities, banks),
        "fe.add": tech.int_add_pj(cfg.fe.lut_entry_bits, node),
        "fe.lut_read": tech.sram_read_pj(fe_bank, cfg.fe.lut_entry_bits, node),
        "fe.lut_write": tech.sram_write_pj(fe_bank, cfg.fe.lut_entry_bits, node),
        "fe.weight_read": tech.sram_read_pj(fe_bank, cfg.fe.weight_bits, node),
        "be.mac": (tech.int_mult_pj(grad_bits, node) + tech.int_add_pj(2 * grad_bits, node)
                   + tech.sram_read_pj(be_bank, cfg.fe.weight_bits, node)),
        "wue.add": tech.int_add_pj(cfg.wue.lut_entry_bits, node),
        "wue.mul": tech.int_mult_pj(grad_bits, node),
        "wue.lut_read": tech.sram_read_pj(wue_bank, cfg.wue.lut_entry_bits, node),
        "wue.lut_write": tech.sram_write_pj(wue_bank, cfg.wue.lut_entry_bits, node),
        "lif.mul": tech.int_mult_pj(mem_bits, node), "lif.add": lif_add,
        "lif.compare": lif_add, "lif.select": lif_add,
    }


def _state_prices(cfg: SystemConfig, capacities: Mapping[str, int],
                  banks: Mapping[str, int]) -> dict[str, float]:
    """pJ per state word access (membrane, dW), in the accessing lane's own bank."""
    bits = state_word_bits(cfg)
    prices = {}
    for key, (buffer, kind) in STATE_ACCESSES.items():
        bank = _bank_bytes(buffer, capacities, banks)
        access = tech.sram_read_pj if kind == "read" else tech.sram_write_pj
        prices[key] = access(bank, bits[buffer], cfg.energy.tech)
    return prices


def price_energy(counts: Mapping[str, int], buffer_capacities_bytes: Mapping[str, int],
                 cfg: SystemConfig, total_cycles: int, dram_pj_per_bit: float,
                 dram_activation_pj: float,
                 sram_banks: Mapping[str, int] | None = None) -> EnergyBreakdown:
    """Price a run's action counts. Unknown count keys raise ValueError.

    ``buffer_capacities_bytes`` overrides the config's buffer sizes by name;
    ``sram_banks`` overrides the banking of ``default_sram_banks``.
    """
    _check_counts(counts, total_cycles)
    capacities = {**config_buffer_capacities(cfg), **buffer_capacities_bytes}
    banks = {**default_sram_banks(cfg), **(sram_banks or {})}
    prices = action_energies_pj(cfg, capacities, banks)
    parts: dict[str, float] = {}
    for key, component in COMPUTE_COMPONENTS.items():
        parts[component] = parts.get(component, 0.0) + counts.get(key, 0) * prices[key]
    for buffer, (read_b, write_b) in sorted(_sram_traffic(counts).items()):
        parts[f"sram_{buffer}"] = (parts.get(f"sram_{buffer}", 0.0)
                                   + _sram_pj(buffer, read_b, write_b, capacities, banks, cfg))
    dynamic_pj = sum(parts.values())  # compute + SRAM: what the clock tree and control serve
    dram_bytes = counts.get("dram.read_bytes", 0) + counts.get("dram.write_bytes", 0)
    activations = counts.get("dram.activations", 0)
    parts["dram"] = dram_bytes * 8 * dram_pj_per_bit + activations * dram_activation_pj
    parts[CLOCK_CONTROL_COMPONENT] = cfg.energy.clock_control_fraction * dynamic_pj
    runtime_s = total_cycles * cfg.cycle_ns * 1e-9
    parts["leakage"] = leakage_w(cfg) * runtime_s * 1e12
    if cfg.energy.calibration_power_w > 0:  # opt-in, not physics: its own visible component
        parts[CALIBRATION_COMPONENT] = cfg.energy.calibration_power_w * runtime_s * 1e12
    return EnergyBreakdown(sum(parts.values()), parts, runtime_s)


def leakage_w(cfg: SystemConfig) -> float:
    """Static power of the whole die: density × area."""
    return tech.leakage_w_per_mm2(cfg.energy.tech) * area_model(cfg).total_mm2


def _bank_bytes(buffer: str, capacities: Mapping[str, int], banks: Mapping[str, int]) -> float:
    if buffer not in capacities:
        raise ValueError(f"buffer {buffer!r}: capacity unknown (not in the config or "
                         "buffer_capacities_bytes)")
    count = banks.get(buffer, 1)
    if count < 1 or capacities[buffer] <= 0:
        raise ValueError(f"buffer {buffer!r}: {capacities[buffer]} bytes in {count} banks; "
                         "expected positive values")
    return capacities[buffer] / count


def _sram_pj(buffer: str, read_bytes: int, write_bytes: int, capacities: Mapping[str, int],
             banks: Mapping[str, int], cfg: SystemConfig) -> float:
    bank = _bank_bytes(buffer, capacities, banks)
    words_per_byte = 8 / SRAM_ACCESS_BITS
    read_pj = tech.sram_read_pj(bank, SRAM_ACCESS_BITS, cfg.energy.tech)
    write_pj = tech.sram_write_pj(bank, SRAM_ACCESS_BITS, cfg.energy.tech)
    return (read_bytes * read_pj + write_bytes * write_pj) * words_per_byte


def _sram_traffic(counts: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """``sram.<buffer>.read_bytes``/``write_bytes`` -> {buffer: (read, write)}."""
    traffic: dict[str, tuple[int, int]] = {}
    for key, value in counts.items():
        if not key.startswith("sram."):
            continue
        buffer, _, kind = key[len("sram."):].rpartition(".")
        read_b, write_b = traffic.get(buffer, (0, 0))
        if kind == "read_bytes":
            traffic[buffer] = (read_b + value, write_b)
        else:
            traffic[buffer] = (read_b, write_b + value)
    return traffic


def _check_counts(counts: Mapping[str, int], total_cycles: int) -> None:
    if total_cycles < 0:
        raise ValueError(f"total_cycles {total_cycles}: expected >= 0")
    for key, value in counts.items():
        known = key in COMPUTE_COMPONENTS or key in DRAM_KEYS or (
            key.startswith("sram.") and key.endswith((".read_bytes", ".write_bytes"))
            and key.count(".") >= 2)
        if not known:
            raise ValueError(f"count {key!r}: not a priced action (see reports.energy)")
        if value < 0:
            raise ValueError(f"count {key!r}: {value}, expected >= 0")


def with_state_traffic(buffers: Mapping[str, Mapping[str, int]], counts: Mapping[str, int],
                       cfg: SystemConfig) -> dict[str, dict[str, int]]:
    """Buffer rows with the engines' state accesses added to their DMA bytes.

    The SRAM buffer models count what DMA moves; the membrane and dW words the
    lanes read and write every step are counted by the cost functions. A report
    of buffer traffic shows both.
    """
    rows = {name: dict(row) for name, row in buffers.items()}
    bits = state_word_bits(cfg)
    for key, (buffer, kind) in STATE_ACCESSES.items():
        if buffer in rows:
            field = "bytes_read" if kind == "read" else "bytes_written"
            rows[buffer][field] += counts.get(key, 0) * bits[buffer] // 8
    return rows
