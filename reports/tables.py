"""The one table style of every command: titles and captions left, a rule under the header.

Every table a command prints (report, compare, analyze, validate, sweep, trace
info, config show) is made here, so they all look alike and use no side
borders: the two border columns a boxed table spends are columns an 80-column
terminal needs for numbers.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table


def data_table(title: str | None = None, **options: Any) -> Table:
    """A rich Table in the house style; ``options`` go to ``Table`` unchanged."""
    settings: dict[str, Any] = {"title_justify": "left", "caption_justify": "left",
                                "box": box.SIMPLE_HEAD, "padding": (0, 1)}
    settings.update(options)
    return Table(title=title, **settings)


__all__ = ["data_table"]
