"""The installed package must hold every module the sources hold (a folder without
``__init__.py`` is silently left out by ``find_packages``), and the sample trace."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tlm", "memory", "traces", "reports")


def test_every_source_folder_is_a_package():
    missing = [str(folder.relative_to(ROOT)) for top in PACKAGES
               for folder in [ROOT / top, *(ROOT / top).rglob("*")]
               if folder.is_dir() and any(folder.glob("*.py"))
               and not (folder / "__init__.py").exists()]
    assert missing == []


def test_sample_trace_ships_as_package_data():
    setup = (ROOT / "setup.cfg").read_text()
    assert "traces = data/*.h5" in setup
    assert (ROOT / "traces" / "data" / "sample.h5").is_file()
