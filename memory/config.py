"""The DRAM's own configuration: which part, which timing model, what to override.

The memory package owns it so that a memory target knows bytes and its own settings and
nothing of the engines; ``tlm.config`` embeds it as the ``[dram]`` section.
"""

from __future__ import annotations

from dataclasses import dataclass


class DramConfigError(ValueError):
    """A DRAM setting that names no known part or is out of range."""


@dataclass(frozen=True)
class DramConfig:
    """Off-chip memory. Fields left at 0 take the preset's value."""

    preset: str = "hbm2"              # see memory/presets.py: hbm2, ddr4-3200, lpddr4-2400, ...
    model: str = "banked"             # "banked" (rows, banks, refresh) | "bandwidth" | "controller"
    channels: int = 0
    peak_gbps_per_channel: float = 0.0
    latency_ns: float = -1.0          # bandwidth model's fixed latency; -1 = preset's row-hit latency
    # banked/bandwidth models: bytes of consecutive addresses per channel (0 = the default,
    # memory.address_map.DEFAULT_INTERLEAVE_BYTES); must divide the row, a multiple of a burst
    interleave_bytes: int = 0
    # trace-driven mode (h2learn dram): DRAMsim3-style field order, MSB first; "" = the part's
    address_map: str = ""
    xor_bank: bool = False            # XOR bank, bank group and channel with low row bits


# keys that only one family of timing models reads: set elsewhere, they would be ignored
_ONLY_FOR = {"address_map": ("controller",), "xor_bank": ("controller",),
             "interleave_bytes": ("banked", "bandwidth")}


def check_model_keys(cfg: DramConfig) -> None:
    """Refuse a setting that the chosen timing model would silently ignore.

    The banked and bandwidth models split a tile over channels every
    ``interleave_bytes``; the controller model decodes every burst with a
    DRAMsim3-style field map (``address_map``, ``xor_bank``).
    """
    for key, models in _ONLY_FOR.items():
        value = getattr(cfg, key)
        if value and cfg.model not in models:
            shown = str(value).lower() if isinstance(value, bool) else repr(value)
            raise DramConfigError(f"dram.{key}: {shown} applies to dram.model="
                                  f"{' or '.join(models)} only, not {cfg.model!r}")
