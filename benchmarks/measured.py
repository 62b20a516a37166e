"""The first line of every benchmark's output: which code, on what machine, under what load.

A figure copied from a benchmark into the docs carries this line with it, so
the reader can tell the commit it came from and how busy the machine was
(walls on a shared machine stretch with its load; ratios measured in one run
much less).
"""

from __future__ import annotations

import os
import platform
import time

from reports.provenance import git_commit, tool_version


def header() -> str:
    """``# h2learn-tlm V · commit C · Python X · N CPUs · load L · date`` (one line)."""
    commit = git_commit() or "unknown"
    load = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"
    return (f"# h2learn-tlm {tool_version()} · commit {commit[:12]} · Python "
            f"{platform.python_version()} · {os.cpu_count()} CPUs · load {load} · "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def print_header() -> None:
    print(header(), flush=True)
