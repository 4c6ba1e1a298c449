"""One vocabulary of outcomes: the same day exits the same way on its first run and on its rerun; no arguments is
the help; a flag that means nothing without another is a usage error; `run` takes several --strategy."""

from __future__ import annotations

import json

import pytest

from alchemiser import cli
from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import alchemiser

STRATEGIES = PROJECT_ROOT / "services" / "strategy" / "strategies"


@pytest.mark.parametrize(("as_of", "code"), [
    ("2026-11-26", 0),                       # Thanksgiving: no session, nothing to trade, no workflow
    ("2026-11-25T03:00:00-05:00", 1),        # before the open: the workflow ends skipped, a retry is offered
])
def test_the_first_run_of_a_skipped_day_and_its_rerun_exit_alike(as_of, code, tmp_path, capsys):
    state = ["--state-dir", str(tmp_path / "state"), "--as-of", as_of]
    first = cli.main(["run", *state, "--json"])
    first_doc = json.loads(capsys.readouterr().out)
    again = cli.main(["run", *state, "--json"])
    again_doc = json.loads(capsys.readouterr().out)
    assert (first, again) == (code, code), (first_doc["status"], again_doc["status"])
    assert first_doc["retry_command"] == again_doc["retry_command"]


def test_no_arguments_prints_the_help():
    result = alchemiser()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: alchemiser")
    assert "backtest" in result.stdout and "Trade a whole day locally" in result.stdout
    assert result.stderr == ""


def test_near_close_minutes_without_near_close_timing_is_a_usage_error(capsys):
    assert cli.main(["backtest", "--near-close-minutes", "5", "--from", "2025-01-02", "--to", "2025-01-10"]) == 2
    assert "--near-close-minutes needs --timing near-close" in capsys.readouterr().err


def test_run_takes_several_strategy_files_like_signals_and_backtest(tmp_path, capsys):
    files = [str(STRATEGIES / "risk_parity.clj"), str(STRATEGIES / "leveraged_trend.clj")]
    code = cli.main(["run", "--as-of", "2026-11-25", "--state-dir", str(tmp_path / "state"), "--json",
                     *[w for f in files for w in ("--strategy", f)]])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["status"] == "completed"
    assert cli.main(["signals", "--as-of", "2026-11-25", "--json", *[w for f in files for w in ("--strategy", f)]]) == 0
    signals = json.loads(capsys.readouterr().out)
    assert doc["target_weights"] == signals["weights"]  # equal allocation, as `signals` holds them
    assert set(signals["strategies"]) == {"risk_parity", "leveraged_trend"}
    assert all(s["allocation"] == "0.500000000" for s in signals["strategies"].values())


def test_run_refuses_strategy_files_with_a_config(tmp_path):
    result = alchemiser("run", "--state-dir", str(tmp_path), "--strategy", str(STRATEGIES / "risk_parity.clj"),
                        "--config", str(STRATEGIES / "portfolio.toml"))
    assert result.returncode == 2 and "not allowed with" in result.stderr
