"""The layers hold: read every module's imports (ast) and fail on an edge that breaks them.

- ``traces/`` (trace files) imports nothing of the project;
- ``memory/`` (DRAM and SRAM targets) imports only itself: it defines the request it
  serves and its own configuration;
- the model (``tlm/`` outside ``tlm/app/``) may use memory and traces, never the
  reports or the application layer;
- ``reports/`` reads the model's records and configuration, never the application layer;
- ``tlm/app/`` (API, sweep, validate, replay, CLI) is the only code that imports both.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tlm", "memory", "traces", "reports")

# layer -> the layers it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "traces": set(),
    "memory": set(),
    "model": {"memory", "traces"},
    "reports": {"model", "memory", "traces"},
    "app": {"model", "memory", "traces", "reports"},
}


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if module == "tlm.app" or module.startswith("tlm.app.") or module == "tlm.__main__":
        return "app"
    return "model" if top == "tlm" else top


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute import in the file, including those inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def all_edges() -> list[tuple[str, int, str]]:
    edges = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            importer = module_name(path)
            edges += [(importer, line, target) for line, target in imported_modules(path)]
    return edges


def broken_edges() -> list[str]:
    broken = []
    for importer, line, target in all_edges():
        source, dest = layer_of(importer), layer_of(target)
        if dest is not None and dest != source and dest not in ALLOWED[source]:
            broken.append(f"{importer}:{line} ({source}) imports {target} ({dest})")
    return broken


def test_no_import_breaks_the_layers():
    assert broken_edges() == []


def test_the_reader_sees_imports_inside_functions():
    # a lazy import is still an edge: the app's CLI imports its commands inside a function
    targets = {target for importer, _, target in all_edges() if importer == "tlm.app.cli"}
    assert "tlm.app.commands" in targets


@pytest.mark.parametrize("module, layer", [
    ("tlm.system", "model"), ("tlm.app.api", "app"), ("tlm.__main__", "app"),
    ("memory.dram", "memory"), ("reports.results", "reports"), ("numpy", None)])
def test_layer_of(module, layer):
    assert layer_of(module) == layer


def module_level_imports(path: Path) -> set[str]:
    """Imports that run when the module loads (not those inside functions or TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_module_imports_itself_back():
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph = {name: {t for t in module_level_imports(path) if t in modules and t != name}
             for name, path in modules.items()}
    cycles, state = [], {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 50


def test_modules_and_functions_stay_small():
    too_big = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            name = module_name(path)
            if len(text.splitlines()) > MAX_MODULE_LINES:
                too_big.append(f"{name}: {len(text.splitlines())} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        too_big.append(f"{name}.{node.name}: {lines} lines")
    assert too_big == []
