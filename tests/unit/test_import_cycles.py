"""No import circles: between modules, or between packages, in shared/, services/ and alchemiser/.

Every import statement counts, wherever it is (top level, inside a function, under TYPE_CHECKING):
an import moved into a function still ties the two modules together, it only hides the circle from
the interpreter. A package-level cycle is two packages (directories) that reach each other through
their modules; a package and the packages nested in it are one room, so a subpackage using its
parent's ports (services/orchestrator/adapters -> services/orchestrator/ports) is not a cycle.

KNOWN_MODULE_CIRCLES and KNOWN_PACKAGE_CYCLES list circles that another piece of work removes; the
test fails on any other circle, and on a known one that is gone (so the lists only shrink).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("shared", "services", "alchemiser")

KNOWN_MODULE_CIRCLES: dict[frozenset[str], str] = {}
KNOWN_PACKAGE_CYCLES: dict[frozenset[str], str] = {}


def modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for top in SCANNED:
        for path in (root / top).rglob("*.py"):
            relative = path.relative_to(root).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            found[".".join(parts)] = path
    return found


def _imported_names(tree: ast.AST, module: str, is_package: bool, known: Mapping[str, Path]) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def _owner(name: str, known: Mapping[str, Path]) -> str | None:
    """The scanned module `name` is, or lives in (`pkg.mod.attr` -> `pkg.mod`); None outside the tree."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def module_graph(root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        owners = (_owner(name, known) for name in _imported_names(tree, module, path.name == "__init__.py", known))
        graph[module] = {owner for owner in owners if owner and owner != module}
    return graph


def _package(module: str, known: Mapping[str, Path]) -> str:
    return module if known[module].name == "__init__.py" else module.rpartition(".")[0]


def _nested(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def package_graph(graph: Mapping[str, set[str]], root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = _package(module, known)
        packages.setdefault(source, set())
        for target in targets:
            other = _package(target, known)
            if not _nested(source, other):
                packages[source].add(other)
    return packages


def circles(graph: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The graph's strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def _describe(component: frozenset[str], graph: Mapping[str, set[str]]) -> str:
    edges = [f"{a} -> {b}" for a in sorted(component) for b in sorted(graph.get(a, set()) & component)]
    return "{" + ", ".join(sorted(component)) + "}: " + "; ".join(edges)


def test_circles_finds_a_circle_and_nothing_in_a_tree() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_module_imports_itself_back_through_others() -> None:
    graph = module_graph()
    assert len(graph) > 100, "the scan found too few modules to be looking at the tree"
    found = set(circles(graph))
    new = [_describe(c, graph) for c in found if c not in KNOWN_MODULE_CIRCLES]
    assert not new, "import circles between modules:\n" + "\n".join(new)
    gone = [", ".join(sorted(c)) for c in KNOWN_MODULE_CIRCLES if c not in found]
    assert not gone, f"no longer a circle, drop it from KNOWN_MODULE_CIRCLES: {gone}"


def test_no_two_packages_import_each_other() -> None:
    graph = package_graph(module_graph())
    found = set(circles(graph))
    new = [_describe(c, graph) for c in found if c not in KNOWN_PACKAGE_CYCLES]
    assert not new, "package-level cycles:\n" + "\n".join(new)
    gone = [", ".join(sorted(c)) for c in KNOWN_PACKAGE_CYCLES if c not in found]
    assert not gone, f"no longer a cycle, drop it from KNOWN_PACKAGE_CYCLES: {gone}"
