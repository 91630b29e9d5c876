"""The layout of grader/ and reference/: imports point one way and never form a cycle.

Every import is read from the source (module level and inside functions alike), so an import
hidden in a function body cannot hide a cycle. The layers, from the top:

    cli -> features (watch, interview, site, dev, drill, debug, lab) -> feedback
        -> workspace, checks -> progress, sandbox -> catalogue -> reference

A module may import its own layer or any layer below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("grader", "reference")

LAYERS: dict[str, int] = {
    "reference": 0,
    "grader": 1,  # the package itself (its __init__)
    "grader.catalogue": 1,
    "grader.i18n": 1,
    "grader.progress": 2,
    "grader.sandbox": 2,
    "grader.workspace": 3,
    "grader.checks": 3,
    "grader.feedback": 4,
    "grader.watch": 5,
    "grader.interview": 5,
    "grader.site": 5,
    "grader.dev": 5,
    "grader.drill": 5,
    "grader.debug": 5,
    "grader.lab": 5,
    "grader.cli": 6,
    "grader.cli_rounds": 6,
    "grader.cli_labs": 6,
}
LINE_LIMIT = 400


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _known(name: str) -> str | None:
    """The project module that ``name`` refers to (a module, or a name inside one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(filter(None, (_known(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                found.update(filter(None, [_known(f"{base}.{alias.name}")]))
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def layer(module: str) -> int:
    name = module
    while name not in LAYERS:
        name = name.rpartition(".")[0]
        assert name, f"{module} is in no layer: add its folder to LAYERS in {__file__}"
    return LAYERS[name]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_the_import_reader_sees_function_level_and_relative_imports(tmp_path):
    assert "grader.workspace" in GRAPH["grader.cli"]  # imported inside command functions
    assert "grader.sandbox.failure" in GRAPH["grader.checks.kit"]


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    upward = sorted(m for m in GRAPH[module] if layer(m) > layer(module))
    assert not upward, (
        f"{module} (layer {layer(module)}) imports a higher layer: "
        + ", ".join(f"{m} (layer {layer(m)})" for m in upward)
    )


def test_reference_stands_alone():
    for module in MODULES:
        if module.startswith("reference"):
            assert not any(m.startswith("grader") for m in GRAPH[module]), module


def test_modules_stay_readable():
    """No grader module over ~400 lines; check modules (one test per check, each with its
    diagnoses) are the stated exception."""
    long = []
    for module, path in MODULES.items():
        if not module.startswith("grader") or path.name.startswith("check_"):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > LINE_LIMIT:
            long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not long, "split these modules: " + "; ".join(long)
