"""auditkit's modules import each other in one direction: no circle.

Every import statement counts, at the top of a module or inside a function:
an import tucked into a function still ties the two modules together, it only
hides the circle until that function runs. Imports under ``if TYPE_CHECKING:``
are left out: they never run, they only name types for the type checker
(and ``from __future__ import annotations`` keeps those names unevaluated).

An import of ``auditkit.x.y`` is an edge to ``auditkit.x.y`` alone. Python
runs the parent packages' ``__init__`` first, but that is how packages load,
not a dependency of the importing module; ``from auditkit import name`` is an
edge to ``auditkit`` itself (the package's ``__init__``) unless ``name`` is a
submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import auditkit

ROOT = Path(auditkit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The auditkit modules this module's import statements name (TYPE_CHECKING blocks aside)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in modules else source)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in modules and name != module}


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    modules = set(files)
    return {
        name: _imports(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py", modules)
        for name, path in files.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle in the graph as the list of its modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := walk(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)) is not None:
            return cycle
    return None


def test_no_import_circle_in_auditkit() -> None:
    graph = import_graph()
    assert len(graph) > 20 and "auditkit._runner" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or ())


def test_the_check_finds_a_circle_through_a_function_level_import() -> None:
    """The detector itself: a function-level import that closes a circle is caught."""
    modules = {"auditkit.a", "auditkit.b"}
    a = ast.parse("from auditkit.b import g\n")
    b = ast.parse("def g():\n    from auditkit import a\n    return a\n")
    graph = {"auditkit.a": _imports(a, "auditkit.a", False, modules), "auditkit.b": _imports(b, "auditkit.b", False, modules)}
    assert find_cycle(graph) == ["auditkit.a", "auditkit.b", "auditkit.a"]
    hidden = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from auditkit import a\n")
    assert _imports(hidden, "auditkit.b", False, modules) == set()


def test_the_core_neither_imports_the_probes_nor_pytest_outside_its_adapters() -> None:
    graph = import_graph()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
        assert "probes" not in names, path
        if path.name not in ("_pytest_plugin.py", "testing.py"):
            assert "pytest" not in names, f"{path} imports pytest: only the plugin and auditkit.testing may"
    assert graph
