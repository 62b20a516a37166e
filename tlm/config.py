"""Hardware configuration: frozen dataclasses, one TOML file, dotted overrides.

Every architectural number is here, with its unit in its name. The paper's own
values are not available, so every default is an assumption; docs/assumptions.md
says where each one comes from. A config is validated once, when it is built;
an invalid value raises ConfigError naming the dotted key and what was expected.

    cfg = load_config("my.toml", overrides=["fe.lut_k=8", "dram.preset=ddr4-3200"])
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from memory.config import DramConfig  # the [dram] section is the memory's own
from memory.presets import resolve_dram
from traces.files import read_regular_text


def kib(value: int) -> int:
    """Bytes of a size given in KiB (buffer sizes are configured in KiB)."""
    return value * 1024


class ConfigError(ValueError):
    """A configuration value that is missing, unknown or out of range."""


@dataclass(frozen=True)
class ForwardEngineConfig:
    """Forward Engine: LUT-based PEs (or plain accumulators, for ablation)."""

    mode: str = "lut"                 # "lut" | "accumulate"
    lut_k: int = 4                    # inputs per LUT group -> 2^k entries
    pes: int = 16384                  # LUT lookups (or accumulations) per cycle (design-point.md)
    skip_zero_patterns: bool = True   # skip lookups whose k-bit spike pattern is 0
    weight_bits: int = 16
    lut_entry_bits: int = 16
    lut_buffer_kib: int = 2048        # LUT storage (design-point.md); larger LUT sets are tiled
                                      # over output channels
    input_buffer_kib: int = 1024      # spike tiles, double buffered (working set: design-point.md)


@dataclass(frozen=True)
class BackwardEngineConfig:
    """Backward Engine: do = W^T du, dual-sparsity aware, over parallel lanes."""

    sparsity: str = "dual"            # "dual" | "input" | "output" | "dense"
    lanes: int = 8192                 # design rule: docs/design-point.md
    macs_per_lane_per_cycle: int = 1
    lane_mapping: str = "packed"      # "packed" (h = 1 pairs dealt round-robin) | "neuron"
                                      # (i % lanes) | "channel" (channel % lanes): ablations
    grad_bits: int = 16
    weight_buffer_kib: int = 8192     # W resident for a whole layer if it fits, else re-streamed
                                      # (every size: the working-set rule of design-point.md)
    input_buffer_kib: int = 8192      # du and h tiles


@dataclass(frozen=True)
class WeightUpdateEngineConfig:
    """Weight Update Engine: LUTs of du subset sums addressed by spike histories."""

    mode: str = "lut"                 # "lut" | "accumulate"
    lut_k: int = 4                    # points (timesteps) per LUT group
    pes: int = 2048                   # design rule: docs/design-point.md
    skip_zero_groups: bool = True     # skip a group whose du values are all zero
    skip_zero_patterns: bool = True   # skip a lookup whose spike history is zero
    lut_entry_bits: int = 16
    grad_buffer_kib: int = 8192       # dW accumulators; a larger dW spills partial sums to DRAM
    input_buffer_kib: int = 8192      # spike-history and du tiles, weights during the update
    output_buffer_kib: int = 8192     # updated weights awaiting write-back (= input: one apply tile)


@dataclass(frozen=True)
class LifConfig:
    """LIF unit: elementwise membrane update (forward) and du recursion (backward)."""

    lanes: int = 1024                 # neurons updated per cycle (docs/design-point.md)
    membrane_bits: int = 16
    membrane_buffer_kib: int = 8192   # u (forward) / du carry (backward); spills to DRAM
    input_buffer_kib: int = 1024      # o / h tiles read for the backward recursion
    output_buffer_kib: int = 8192     # o / h / du tiles awaiting write-back


@dataclass(frozen=True)
class PipelineConfig:
    mode: str = "overlap"             # "serial" | "overlap"
    du_channel_tiles: int = 2         # depth of the BE -> WUE du channel
    prefetch_tiles: int = 2           # DMA tiles in flight per engine (double buffering)


@dataclass(frozen=True)
class SramConfig:
    port_bytes_per_cycle: int = 256   # every on-chip buffer's port; bounds DMA fill rate


@dataclass(frozen=True)
class EnergyConfig:
    tech: str = "28nm"                # "28nm" | "45nm"
    # Clock tree and control as a share of the on-chip dynamic energy (compute + SRAM):
    # an assumption, docs/energy-area-gpu.md; swept by `h2learn validate --sensitivity`.
    clock_control_fraction: float = 0.3
    # Not physics: a constant power added for the whole runtime. 0 by default (energy from
    # the per-action model alone); configs/paper-calibrated.toml sets it to match the paper.
    calibration_power_w: float = 0.0


@dataclass(frozen=True)
class GpuConfig:
    preset: str = "v100"
    optimizer: str = "sgd"            # "sgd": the WUE's own update, a fair comparison | "adam"
    launch_us: float = 5.0            # per-kernel launch floor, µs (published range 2-20)


@dataclass(frozen=True)
class TraceConfig:
    """How the simulator reads the trace: not part of the modelled hardware."""

    # Decoded trace tiles kept in memory (tlm/traceview.py). Bounded in bytes so memory
    # stays flat in batch and T; results never depend on it, only read time does.
    cache_mib: int = 4


@dataclass(frozen=True)
class SystemConfig:
    clock_mhz: float = 1000.0
    fe: ForwardEngineConfig = field(default_factory=ForwardEngineConfig)
    be: BackwardEngineConfig = field(default_factory=BackwardEngineConfig)
    wue: WeightUpdateEngineConfig = field(default_factory=WeightUpdateEngineConfig)
    lif: LifConfig = field(default_factory=LifConfig)
    dram: DramConfig = field(default_factory=DramConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    sram: SramConfig = field(default_factory=SramConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    gpu: GpuConfig = field(default_factory=GpuConfig)
    trace: TraceConfig = field(default_factory=TraceConfig)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def cycle_ns(self) -> float:
        return 1e3 / self.clock_mhz

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def effective(self) -> "SystemConfig":
        """The same configuration with every "take the preset's" sentinel resolved.

        ``dram.channels = 0``, ``dram.peak_gbps_per_channel = 0`` and
        ``dram.latency_ns = -1`` become the preset's values, so that a config read
        back from results (and scaled, as a sweep does) means what it says.
        """
        part = resolve_dram(self.dram)
        dram = dataclasses.replace(self.dram, channels=part.channels, latency_ns=part.latency_ns,
                                   peak_gbps_per_channel=part.peak_gbps_per_channel)
        return dataclasses.replace(self, dram=dram)

    def flat(self) -> dict[str, Any]:
        """Dotted keys -> values, e.g. {"fe.lut_k": 4, ...}."""
        return dict(flatten(self.to_dict()))


_CHOICES = {
    "fe.mode": ("lut", "accumulate"),
    "be.sparsity": ("dual", "input", "output", "dense"),
    "be.lane_mapping": ("packed", "neuron", "channel"),
    "wue.mode": ("lut", "accumulate"),
    "dram.preset": ("hbm2", "ddr4-3200", "lpddr4-2400", "hbm2e", "hbm3", "lpddr4-3200"),
    "dram.model": ("banked", "bandwidth", "controller"),
    "pipeline.mode": ("serial", "overlap"),
    "energy.tech": ("28nm", "45nm"),
    "gpu.preset": ("v100", "a100"),
    "gpu.optimizer": ("sgd", "adam"),
}
_RANGES = {  # inclusive bounds
    "fe.lut_k": (1, 12), "wue.lut_k": (1, 12),
    "dram.channels": (0, 64), "pipeline.du_channel_tiles": (0, 1 << 20),
    "pipeline.prefetch_tiles": (1, 64),
    "energy.calibration_power_w": (0.0, 1e5),
    "trace.cache_mib": (1, 1 << 20),
    "energy.clock_control_fraction": (0.0, 2.0),
    "gpu.launch_us": (0.1, 1000.0),
}


# Any number outside this band is a typo or damage, not a design point: 10^20 PEs,
# a 1e-300 MHz clock or 1e300 GB/s would only overflow or stall the model.
_MAGNITUDE = (1e-6, 1e15)  # 1e12 GB/s is the tests' "ideal memory"


def _check_magnitude(key: str, value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: {value}, expected a finite number")
    lo, hi = _MAGNITUDE
    if value != 0 and value != -1 and not lo <= abs(value) <= hi:
        raise ConfigError(f"{key}: {value}, expected a magnitude in {lo:g}..{hi:g}")


def validate(cfg: SystemConfig) -> None:
    for key, value in flatten(dataclasses.asdict(cfg)):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_magnitude(key, value)
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ConfigError(f"{key}: {value!r}, expected one of {', '.join(_CHOICES[key])}")
        if key in _RANGES:
            lo, hi = _RANGES[key]
            if not lo <= value <= hi:
                raise ConfigError(f"{key}: {value}, expected {lo}..{hi}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if key == "dram.latency_ns":
                if value < 0 and value != -1:
                    raise ConfigError(f"{key}: {value}, expected >= 0 (or -1 for the preset's)")
            elif key in ("dram.channels", "dram.peak_gbps_per_channel", "dram.interleave_bytes"):
                if value < 0:
                    raise ConfigError(f"{key}: {value}, expected >= 0 (0 = preset's)")
            elif not value > 0 or (isinstance(value, float) and math.isnan(value)):
                raise ConfigError(f"{key}: {value}, expected a positive number")


def allowed_values(key: str, default: Any) -> str:
    """What ``validate`` accepts for ``key``, as text (``h2learn config show``)."""
    if key in _CHOICES:
        return " | ".join(_CHOICES[key])
    if key in _RANGES:
        lo, hi = _RANGES[key]
        return f"{lo:g}..{hi:g}"
    if isinstance(default, bool):
        return "true | false"
    if key == "dram.latency_ns":
        return ">= 0; -1 = preset's"
    if key in ("dram.channels", "dram.peak_gbps_per_channel"):
        return ">= 0; 0 = preset's"
    if isinstance(default, (int, float)):
        return "> 0"
    return ""


def flatten(tree: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Nested dict -> (dotted key, value) pairs: {"fe": {"lut_k": 4}} -> ("fe.lut_k", 4)."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _coerce(key: str, text: str, current: Any) -> Any:
    """Parse a --set value to the type of the field it replaces."""
    try:
        if isinstance(current, bool):
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
    except ValueError:
        raise ConfigError(f"{key}: {text!r}, expected a {type(current).__name__}") from None
    return text


def _check_type(key: str, default: Any, value: Any) -> Any:
    """``value`` converted to the type of ``default``, or ConfigError naming ``key``."""
    expected = type(default).__name__
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: {value!r}, expected a {expected}")
    if isinstance(default, (int, float)):
        if not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: {value!r}, expected a {expected}")
        if isinstance(default, int) and not float(value).is_integer():
            raise ConfigError(f"{key}: {value!r}, expected an integer")
        return type(default)(value)
    if not isinstance(value, str):
        raise ConfigError(f"{key}: {value!r}, expected a {expected}")
    return value


def _build(cls: type, values: dict[str, Any], prefix: str = "") -> Any:
    """An instance of the dataclass ``cls`` from a (nested) dict, every value checked."""
    defaults = cls()
    known = {f.name for f in fields(cls)}
    kwargs = {}
    for name, value in values.items():
        key = f"{prefix}{name}"
        if name not in known:
            raise ConfigError(f"{key}: unknown key; expected one of {', '.join(sorted(known))}")
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: expected a table")
            kwargs[name] = _build(type(default), value, f"{key}.")
        else:
            kwargs[name] = _check_type(key, default, value)
    return cls(**kwargs)


def _set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    if key not in _DEFAULTS_FLAT:
        raise ConfigError(f"{key}: unknown key (see `h2learn config show`)")
    *parents, leaf = key.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def load_config(path: str | Path | None = None, overrides: Iterable[str] = (),
                base: SystemConfig | None = None) -> SystemConfig:
    """``base`` (default: the defaults), then the TOML file (if any), then ``key=value``s."""
    tree: dict[str, Any] = base.to_dict() if base is not None else {}
    if path is not None:
        try:
            _merge(tree, tomllib.loads(_read_config_text(path)))
            _build(SystemConfig, tree)  # an error in the file names the file and the key
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key = key.strip()
        if not key:
            raise ConfigError(f"--set {item!r}: the key before '=' is empty")
        _set_dotted(tree, key, _coerce(key, text.strip(), _DEFAULTS_FLAT.get(key, "")))
    return _build(SystemConfig, tree)


MAX_CONFIG_BYTES = 1 << 20  # a config is a few kB; more is not a config


def _read_config_text(path: str | Path) -> str:
    try:
        return read_regular_text(path, MAX_CONFIG_BYTES)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})") from None  # load_config names the file


def _merge(tree: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(tree.get(key), dict):
            _merge(tree[key], value)
        else:
            tree[key] = value


def config_from_dict(overrides: dict[str, Any]) -> SystemConfig:
    """Defaults with a dict of dotted overrides (Python API)."""
    tree: dict[str, Any] = {}
    for key, value in overrides.items():
        _set_dotted(tree, key, value)
    return _build(SystemConfig, tree)


_DEFAULTS_FLAT = SystemConfig().flat()
