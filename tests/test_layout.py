"""The repository's layout: what students install is the course (no build tooling), and the
modules of src/ import one another without a circle."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import helpers

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
TOOLS = ROOT / "tools"


def modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Every module under root by dotted name: its file and whether it is a package."""
    found = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def imports(name: str, path: Path, package: bool, known: dict) -> set[str]:
    """The modules of `known` that a module imports, at its top or inside a function."""

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    here = name if package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {resolve(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(resolve(full) if full in known else resolve(base))
    return {m for m in found if m and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                on_stack.discard(w)
                group.append(w)
            on_stack.discard(v)
            if group:
                groups.append(sorted([v, *group]))

    for v in graph:
        if v not in index:
            visit(v)
    return groups


def test_no_import_circle_in_src():
    known = modules(SRC)
    graph = {name: imports(name, path, package, known) for name, (path, package) in known.items()}
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_installed_package_holds_the_course_not_its_build_tooling():
    installed = Path(helpers.__file__).resolve().parent
    tooling = {path.stem for path in TOOLS.glob("*.py")} - {"__init__"}
    assert tooling >= {"myst", "edition", "codegen", "record_fgnet", "bench"}
    names = {path.stem for path in installed.rglob("*.py")}
    assert not names & tooling, "build tooling inside the package students install"
    for path in installed.rglob("*.py"):  # and the course never reaches for it
        text = path.read_text()
        assert not re.search(r"^\s*(from|import) tools\b", text, flags=re.M), path
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setup["packages"]["find"]["where"] == ["src"]  # tools/ is beside src/, not in it


def test_every_package_of_helpers_says_what_it_holds():
    for init in (SRC / "helpers").rglob("__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text())), init
