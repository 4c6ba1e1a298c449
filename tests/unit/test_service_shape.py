"""Every service is wired the one way CONTRIBUTING.md ("A service") describes.

handler.py: the Lambda entry; dependencies.py: `Dependencies` (settings first), `build(settings)`
with no test seams, `keys_in_use`, a `PerCredentials` cache, `dependencies(settings)`,
`clear_cache()`; app.py: `handle(incoming, deps, *, context, metrics)`; every module that logs
calls `make_logger(<service>)`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest

from shared.runtime.container_cache import PerCredentials

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("strategy", "portfolio", "execution", "orchestrator")


@pytest.mark.parametrize("service", SERVICES)
def test_dependencies_module_has_the_common_shape(service):
    module = importlib.import_module(f"services.{service}.dependencies")
    deps = module.Dependencies
    assert dataclasses.is_dataclass(deps) and deps.__dataclass_params__.frozen
    assert dataclasses.fields(deps)[0].name == "settings"
    assert list(inspect.signature(module.build).parameters) == ["settings"], "build(settings) takes no test seams"
    assert isinstance(module._cached, PerCredentials)
    for name in ("keys_in_use", "dependencies", "clear_cache"):
        assert callable(getattr(module, name)), name
    assert inspect.signature(module.dependencies).return_annotation in ("Dependencies", deps)


@pytest.mark.parametrize("service", SERVICES)
def test_app_handle_takes_the_incoming_the_dependencies_the_context_and_the_metrics(service):
    handle = importlib.import_module(f"services.{service}.app").handle
    parameters = inspect.signature(handle).parameters
    assert list(parameters) == ["incoming", "deps", "context", "metrics"]
    assert parameters["context"].kind is inspect.Parameter.KEYWORD_ONLY


def _logger_calls(path: Path) -> list[str]:
    """How a module builds its logger: the called name of every `logger = ...` at module level."""
    found = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "logger" for t in node.targets):
            call = node.value
            assert isinstance(call, ast.Call), f"{path}: logger is not built by a call"
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "?")
            args = [a.value for a in call.args if isinstance(a, ast.Constant)]
            found.append(f"{name}({', '.join(map(repr, args))})")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_module_of_a_service_that_logs_uses_the_service_logger(service):
    calls = {str(p.relative_to(ROOT)): _logger_calls(p) for p in sorted((ROOT / "services" / service).rglob("*.py"))}
    used = {path: c for path, c in calls.items() if c}
    assert f"services/{service}/handler.py" in used
    assert all(c == [f"make_logger('{service}')"] for c in used.values()), used
