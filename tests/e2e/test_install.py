"""A non-editable install (`pip install .`, what pipx does) runs a day: the CLI needs no checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

SOURCES = ("pyproject.toml", "README.md", "alchemiser", "services", "shared", "infra")


def test_a_non_editable_install_runs_a_day_from_anywhere(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:  # a copy, so the build leaves nothing in the working tree
        path = PROJECT_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".aws-sam", "*.egg-info"))
        else:
            shutil.copy2(path, source / name)
    target = tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "pip", "install", "-v", "--no-deps", "--target", str(target),
                            str(source)], check=True, capture_output=True, text=True)
    noise = [line for line in (built.stdout + built.stderr).splitlines()
             if "deprecat" in line.lower() and "licen" in line.lower()]
    assert noise == []  # setuptools' licence-table deprecation used to be printed three times
    shutil.rmtree(source)  # nothing of the checkout is left to find
    assert (target / "alchemiser" / "local" / "template.yaml").is_file()
    for asset in ("page.js", "page.css"):  # the tearsheet's script and style, read as package data
        assert (target / "alchemiser" / "backtest" / "tearsheet" / asset).is_file(), asset
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import sys; from alchemiser.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", code, "run", "--as-of", "2026-11-25", "--state-dir",
                             str(tmp_path / "state"), "--json"], cwd=elsewhere, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["status"] == "completed"
    where = subprocess.run([sys.executable, "-c", "import alchemiser.local.template as t; print(t.DEFAULT_TEMPLATE)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert where.strip().startswith(str(target))
