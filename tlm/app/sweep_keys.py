"""A sweep point's identities: where it sits (slot) and what its numbers depend on (key).

The *slot* hashes the trace's absolute path and the resolved configuration;
the *key* adds the trace's content hash and the tool's version and commit.
Resume matches keys; a completed record whose slot matches but whose key does
not is *stale* (trace regenerated in place, or another tool) and runs again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

from tlm.config import ConfigError, SystemConfig

SAMPLE_TRACE = "sample"   # how the embedded sample trace is named in points and tables
Record = dict[str, Any]


def point_key(trace: str | None, config_file: str | None, overrides: Iterable[str]) -> str:
    """The point's *slot*: a stable 12-hex-digit name, the same in every run of the sweep.

    A point is its trace (by absolute path) and its *resolved* configuration, so
    the same configuration reached by --set, --grid or a config file is one
    point. A configuration that does not resolve is named by its raw inputs
    instead (it will fail, and be retried on resume).
    """
    identity: dict[str, Any] = {"trace": str(Path(trace).resolve()) if trace else SAMPLE_TRACE}
    try:
        identity["config"] = resolve(trace, config_file, overrides).flat()
    except ConfigError:
        identity["config_file"] = str(Path(config_file).resolve()) if config_file else None
        identity["overrides"] = list(overrides)
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def trace_content(trace: str | None) -> str | None:
    """The content hash of a trace (of the embedded sample for None); None if unreadable.

    An unreadable trace fails its points with the reader's own message; its
    key then cannot match a completed record, so it is never resumed wrongly.
    """
    from traces.identity import content_sha256
    from traces.sample import sample_trace_path
    try:
        return content_sha256(trace if trace is not None else sample_trace_path())
    except (OSError, ValueError, KeyError):
        return None


def tool_identity() -> dict[str, Any]:
    from reports.provenance import producer
    return producer()


def full_key(slot: str, content: str | None, tool: dict[str, Any]) -> str:
    """The resume key: the slot plus what its numbers also depend on."""
    text = json.dumps({"slot": slot, "trace_content_sha256": content, "tool": tool},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def absolute(path: str | None) -> str | None:
    """An absolute path, so that a worker in another directory opens the same file."""
    return None if path is None else str(Path(path).resolve())


def effective_config(point: Any) -> dict[str, Any] | None:
    """The point's resolved configuration, flat (None when it does not resolve)."""
    try:
        return resolve(point.trace, point.config_file, point.overrides).flat()
    except ConfigError:
        return None


def resolve(trace: str | None, config_file: str | None, overrides: Iterable[str]) -> SystemConfig:
    """A point's configuration: the defaults (a recording: its recorded configuration),
    then the config file, then the overrides."""
    from tlm.config import load_config
    return load_config(config_file, overrides, base=recorded_config(trace))


def recorded_config(trace: str | None) -> SystemConfig | None:
    """The configuration a recording (``h2learn run --record``) was made with; None for a
    trace, or for a recording too damaged to say (its points fail with the reader's line)."""
    if trace is None:
        return None
    try:
        info = os.stat(trace)
    except OSError:
        return None
    return _recorded_config(trace, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=64)
def _recorded_config(trace: str, mtime_ns: int, size: int) -> SystemConfig | None:
    """Read once per file version: every point of a sweep asks (key, record, run)."""
    from tlm.app.replay import load_recording
    from traces.errors import TraceError
    from traces.txstream import is_stream
    try:
        return load_recording(trace)[1] if is_stream(trace) else None
    except (TraceError, ConfigError):
        return None


def count_stale(todo: list[Any], done: Iterable[Record]) -> int:
    """Points to run whose slot already has an ok record under another key.

    Records journalled before keys held the trace content and tool have no
    ``slot``; their ``key`` was the slot, so they are recognised (as stale) too.
    """
    slots = {r.get("slot", r["key"]) for r in done}
    return sum(p.slot in slots for p in todo)


__all__ = ["SAMPLE_TRACE", "absolute", "count_stale", "effective_config", "full_key",
           "point_key", "tool_identity", "trace_content"]
