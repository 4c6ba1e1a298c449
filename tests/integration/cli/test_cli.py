"""The command line itself: fast help, --version, completion, help text on every flag."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from alchemiser import cli

PROBE = """
import json, sys
from alchemiser import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
watched = ("alchemiser.", "shared.", "services.", "boto3", "rich")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(watched))))
"""


def _imported(*argv: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out.strip().splitlines()[-1]))


def test_top_level_help_imports_no_command():
    assert [m for m in _imported("--help") if m != "alchemiser.cli"] == []  # nor rich: it is drawn lazily


def test_a_command_s_help_imports_that_command_only():
    imported = _imported("run", "--help")
    assert "alchemiser.commands.run" in imported
    # shared.limits.specs: the limits' names for the flags (plain dataclasses, no pydantic)
    light = {"shared.limits", "shared.limits.specs"}
    heavy = ("alchemiser.local.runtime", "shared.", "services.", "boto3", "rich")
    assert not [m for m in imported if m.startswith(heavy) and m not in light]
    # besides the command, only the light helpers its flags are declared with (no shared module at import)
    assert not [m for m in imported if m.startswith("alchemiser.commands.") and m.rsplit(".", 1)[1]
                not in ("run", "common", "tickers")]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_flag_of_every_command_has_help_text():
    missing = [f"{name} {a.option_strings or a.dest}" for name, sub in _subparsers(cli.build_parser()).items()
               for a in sub._actions if not a.help]
    assert missing == []


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("alchemiser ")


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_know_every_command_and_flag(shell, capsys):
    assert cli.main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ("run", "replay", "dlq", "--state-dir", "--retry", "--allow-backdated"):
        assert word in script


def test_explanation_paths_are_shown_relative_to_the_working_directory(monkeypatch, tmp_path):
    from alchemiser.commands.run_summary import relative_paths

    monkeypatch.chdir(tmp_path)
    line = f"Risk parity mix ({tmp_path}/strategies/risk_parity.clj) on 2026-11-24: SHY 23.59%"
    assert relative_paths(line) == "Risk parity mix (strategies/risk_parity.clj) on 2026-11-24: SHY 23.59%"
    assert relative_paths("(/elsewhere/x.clj)") == "(/elsewhere/x.clj)"
