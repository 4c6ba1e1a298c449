"""What each function's code imports, read from the source (no import is executed).

A function's code is everything reachable from `services/<name>/handler.py` through imports of
`services.*` and `shared.*` modules, at module level or inside functions (lazy imports run in
some invocations, so they ship too). Imports under `if TYPE_CHECKING:` are not followed.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.conftest import PROJECT_ROOT

LOCAL_ROOTS = ("services", "shared")


@dataclass(frozen=True)
class ImportSite:
    importer: str
    """Dotted name of the importing module."""
    module: str
    """Dotted name of what is imported (a module, or the package a name comes from)."""
    line: int
    lazy: bool
    """Inside a function body: runs only when that code runs."""
    type_only: bool
    """Under `if TYPE_CHECKING:`: never runs."""

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    @property
    def where(self) -> str:
        return f"{self.importer.replace('.', '/')}.py:{self.line}"


def module_file(module: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, lazy: bool, type_only: bool) -> Iterator[tuple[ast.AST, bool, bool]]:
    for child in ast.iter_child_nodes(node):
        yield child, lazy, type_only
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, True, type_only)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield stmt, lazy, True
                yield from _walk(stmt, lazy, True)
            for stmt in child.orelse:
                yield stmt, lazy, type_only
                yield from _walk(stmt, lazy, type_only)
        else:
            yield from _walk(child, lazy, type_only)


@cache
def imports_of(module: str) -> tuple[ImportSite, ...]:
    path = module_file(module)
    if path is None:
        return ()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    sites: list[ImportSite] = []
    for node, lazy, type_only in _walk(tree, False, False):
        if isinstance(node, ast.Import):
            sites += [ImportSite(module, a.name, node.lineno, lazy, type_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                # `from pkg import mod` imports the module pkg.mod when there is one.
                sub = f"{target}.{alias.name}"
                is_local = target.split(".")[0] in LOCAL_ROOTS
                name = sub if is_local and module_file(sub) is not None else target
                sites.append(ImportSite(module, name, node.lineno, lazy, type_only))
    return tuple(sites)


def _packages_of(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def reachable(service: str) -> frozenset[str]:
    """Local modules the function's code can import (not following type-only imports)."""
    start = f"services.{service}.handler"
    seen: set[str] = set()
    stack = [start]
    while stack:
        module = stack.pop()
        if module in seen or module_file(module) is None:
            continue
        seen.add(module)
        for site in imports_of(module):
            if site.type_only or site.top not in LOCAL_ROOTS:
                continue
            stack += [site.module, *_packages_of(site.module)]
    return frozenset(seen)


def third_party_sites(service: str) -> list[ImportSite]:
    """Imports of anything but the standard library and our own packages, in the function's code."""
    return [site for module in sorted(reachable(service)) for site in imports_of(module)
            if not site.type_only and site.top not in LOCAL_ROOTS
            and site.top not in sys.stdlib_module_names and site.top != "__future__"]


def shared_packages(service: str) -> frozenset[str]:
    """The `shared/<package>` directories the function's code uses."""
    return frozenset(m.split(".")[1] for m in reachable(service) if m.startswith("shared.") and m.count(".") >= 1)


def service_packages(service: str) -> frozenset[str]:
    return frozenset(m.split(".")[1] for m in reachable(service) if m.startswith("services.") and m.count(".") >= 1)


def all_local_modules() -> list[str]:
    return sorted(_module_name(p) for root in LOCAL_ROOTS for p in (PROJECT_ROOT / root).rglob("*.py"))
