"""The terminal report (rich). Renderables only draw numbers from Results."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from reports.results import Results


def render_report(results: Results, console: Console) -> None:
    table = Table(title="h2learn summary")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("cycles", f"{results.total_cycles:,}")
    table.add_row("time", f"{results.seconds * 1e3:.3f} ms")
    table.add_row("speedup vs GPU", f"{results.speedup:.2f}x")
    console.print(table)
