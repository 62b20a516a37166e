"""What a sweep is: grid dimensions, sweep files, the points they expand to, their records.

A sweep is the cartesian product of one or more *grid* dimensions (a dotted config key
and the values it takes) and one or more traces; each combination is a ``SweepPoint``.
A *record* is the JSON line of one finished point. Running points is
``tlm.app.sweep_backends``; journaling and resuming them is ``tlm.app.sweep``.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from tlm.app.sweep_keys import (SAMPLE_TRACE, absolute, effective_config, full_key,
                                point_key, recorded_config, tool_identity, trace_content)
from tlm.config import SystemConfig, flatten
from tlm.topology import ENGINE_NAMES
from traces.files import read_regular_text

Record = dict[str, Any]
RunPoint = Callable[["SweepPoint"], Record]

SWEEP_FILE_MAX_BYTES = 1 << 20  # a sweep file is a few lines; /dev/zero is not one


def _share(activity: dict[str, int], state: str) -> float:
    total = sum(activity.values())
    return activity.get(state, 0) / total if total else 0.0


# The key metrics of a point: name -> (extractor from the results dict, higher is better).
METRICS: dict[str, tuple[Callable[[dict[str, Any]], float | int | None], bool]] = {
    "total_cycles": (lambda r: r["total_cycles"], False),
    "seconds": (lambda r: r["seconds"], False),
    "speedup": (lambda r: r["speedup"], True),
    "energy_pj": (lambda r: r["energy_pj"]["total"], False),
    "energy_saving": (lambda r: r["energy_saving"], True),
    "area_mm2": (lambda r: r["area_mm2"]["total"], False),
    "area_saving": (lambda r: r["area_saving"], True),
    "dram_achieved_gbps": (lambda r: r["dram"]["achieved_gbps"], True),
    "dram_utilization": (lambda r: r["dram"]["utilization"], True),
    **{f"{engine}_stall_memory": ((lambda r, e=engine: _share(r["engines"][e], "stall_memory")),
                                  False) for engine in ENGINE_NAMES},
}


class SweepError(ValueError):
    """A sweep definition that cannot be run (bad grid, sweep file or trace list)."""


@dataclass(frozen=True)
class SweepPoint:
    """One simulation of a sweep: a trace and the overrides applied to the base config."""

    index: int
    key: str                           # slot + trace content + tool: what resume matches
    trace: str | None                  # absolute path; None: the embedded sample trace
    grid: dict[str, str]               # the swept keys' values at this point
    overrides: tuple[str, ...]         # base --set values, then the grid values
    config_file: str | None = None
    slot: str = ""                     # trace path + resolved config: where the point sits
    trace_content_sha256: str | None = None
    recording: bool = False            # the "trace" is a recorded stream: the point replays it

    @property
    def trace_name(self) -> str:
        return SAMPLE_TRACE if self.trace is None else Path(self.trace).name


@dataclass
class SweepSpec:
    """What to sweep: traces, ordered grid dimensions, a base config and overrides."""

    traces: list[str | None] = field(default_factory=lambda: [None])
    grid: dict[str, list[str]] = field(default_factory=dict)
    base: list[str] = field(default_factory=list)
    config_file: str | None = None

    def dimensions(self) -> list[str]:
        """The grid keys that really vary (more than one value)."""
        return [key for key, values in self.grid.items() if len(values) > 1]


def value_text(value: Any) -> str:
    """A grid value as ``--set`` text: TOML booleans become true/false, numbers their repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise SweepError(f"grid value {value!r}: expected a string, number or boolean")


def check_key(key: str) -> None:
    if key not in SystemConfig().flat():
        raise SweepError(f"--grid {key}: unknown key (see `h2learn config show`)")


def add_dimension(grid: dict[str, list[str]], key: str, values: Iterable[Any]) -> None:
    """Add (or replace) a grid dimension; repeated values are kept once, in order."""
    key = key.strip()
    check_key(key)
    texts = list(dict.fromkeys(value_text(v).strip() for v in values))
    if not texts or any(not text for text in texts):
        raise SweepError(f"--grid {key}: expected one or more non-empty values")
    grid[key] = texts


def parse_grid_option(text: str) -> tuple[str, list[str]]:
    """``'dram.preset=hbm2,ddr4-3200'`` -> ``('dram.preset', ['hbm2', 'ddr4-3200'])``."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise SweepError(f"--grid {text!r}: expected key=value1,value2,...")
    return key.strip(), values.split(",")



def load_sweep_file(path: str | os.PathLike) -> SweepSpec:
    """A TOML sweep file: ``traces``, ``config``, ``[grid]`` lists and ``[set]`` values.

    Relative trace and config paths are relative to the sweep file's folder.
    """
    source = Path(path)
    try:
        tree = tomllib.loads(read_regular_text(source, SWEEP_FILE_MAX_BYTES))
    except OSError as exc:
        raise SweepError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SweepError(f"{path}: not a TOML sweep file (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(tree) - {"traces", "config", "grid", "set"})
    if unknown:
        raise SweepError(f"{path}: unknown entry {unknown[0]!r}; expected traces, config, "
                         "[grid] or [set]")
    spec = SweepSpec()
    # [grid.dram] preset = [...] and [grid] "dram.preset" = [...] mean the same
    for key, values in flatten(tree.get("grid", {})):
        add_dimension(spec.grid, key, values if isinstance(values, list) else [values])
    for key, value in flatten(tree.get("set", {})):
        check_key(key)
        spec.base.append(f"{key}={value_text(value)}")
    if "traces" in tree:
        if not isinstance(tree["traces"], list) or not tree["traces"]:
            raise SweepError(f"{path}: traces: expected a non-empty list of trace files")
        spec.traces = [str(source.parent / str(name)) for name in tree["traces"]]
    if "config" in tree:
        spec.config_file = str(source.parent / str(tree["config"]))
    return spec


def expand(spec: SweepSpec) -> list[SweepPoint]:
    """Every point, in a deterministic order: traces outermost, then the grid as given."""
    config_file = absolute(spec.config_file)
    if config_file:
        try:
            Path(config_file).read_text()
        except OSError as exc:
            raise SweepError(f"{spec.config_file}: cannot read ({exc.strerror})") from None
    keys = list(spec.grid)
    combos = list(itertools.product(*(spec.grid[key] for key in keys)))
    tool = tool_identity()
    points: list[SweepPoint] = []
    seen: set[str] = set()
    for trace in dict.fromkeys(absolute(t) for t in spec.traces):
        content, recording = trace_content(trace), recorded_config(trace) is not None
        for values in combos:
            grid = dict(zip(keys, values))
            overrides = tuple(spec.base) + tuple(f"{k}={v}" for k, v in grid.items())
            slot = point_key(trace, config_file, overrides)
            if slot not in seen:  # a trace named twice is simulated once
                seen.add(slot)
                points.append(SweepPoint(len(points), full_key(slot, content, tool), trace,
                                         grid, overrides, config_file, slot, content,
                                         recording))
    return points


def key_metrics(results: dict[str, Any]) -> dict[str, float | int | None]:
    return {name: extract(results) for name, (extract, _) in METRICS.items()}


def point_record(point: SweepPoint, status: str, error: str | None,
                 results: dict[str, Any] | None, wall_seconds: float) -> Record:
    """The JSON line of one finished point (metrics and results are None when it failed)."""
    return {"key": point.key, "slot": point.slot, "index": point.index,
            "trace": point.trace_name, "trace_path": point.trace,
            "trace_content_sha256": point.trace_content_sha256,
            "trace_sha256": (results or {}).get("trace", {}).get("sha256"),
            "producer": tool_identity(), "config": effective_config(point),
            "grid": dict(point.grid),
            "overrides": list(point.overrides), "config_file": point.config_file,
            "status": status, "error": error, "wall_seconds": round(wall_seconds, 4),
            "metrics": key_metrics(results) if results is not None else None,
            "results": results}


