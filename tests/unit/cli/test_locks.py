"""The two locks: `make run` installs requirements/cli.lock only, `make setup` requirements/dev.lock."""

from __future__ import annotations

import importlib.util

from tests.conftest import PROJECT_ROOT

REQUIREMENTS = PROJECT_ROOT / "requirements"


def _generator():
    spec = importlib.util.spec_from_file_location("cli_lock", REQUIREMENTS / "cli_lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_lock_is_the_runtime_closure_pinned_as_dev_lock_pins_it():
    generator = _generator()
    assert (REQUIREMENTS / "cli.lock").read_text() == generator.render(), \
        "regenerate: .venv/bin/python requirements/cli_lock.py > requirements/cli.lock"


def test_the_cli_lock_leaves_the_development_tools_out():
    names = set(_generator().pins(REQUIREMENTS / "cli.lock"))
    assert {"pydantic", "aws-lambda-powertools", "alpaca-py", "pyyaml", "shtab"} <= names
    assert not names & {"moto", "mypy", "aws-sam-cli", "pytest", "ruff", "cfn-lint", "hypothesis"}


def test_make_run_installs_the_cli_lock_only():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    run_rule = next(line for line in makefile.splitlines() if line.startswith("run:"))
    assert "$(CLI_STAMP)" in run_rule and "$(STAMP)" not in run_rule.replace("$(CLI_STAMP)", "")
    assert "pip install --quiet -r requirements/cli.lock" in makefile
