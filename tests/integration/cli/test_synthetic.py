"""Say SYNTHETIC everywhere the README promises it: run, status, pnl, plan (and signals, backtest), text and JSON."""

from __future__ import annotations

import json
from datetime import date

import pytest

from alchemiser import cli
from alchemiser.text import SYNTHETIC
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from shared.marketdata.offline import OfflineMarketData

COMMANDS = {
    "run": ["run", "--as-of", "2026-11-25"],
    "status": ["status"],
    "pnl": ["pnl", "--as-of", "2026-11-25T18:00:00-05:00"],
    "plan": ["plan", "--as-of", "2026-11-26T10:00:00-05:00"],
    "signals": ["signals", "--as-of", "2026-11-25"],
}


def _both(capsys, argv):
    cli.main(argv)
    text = capsys.readouterr().out
    cli.main([*argv, "--json"])
    return text, json.loads(capsys.readouterr().out)


def test_every_output_on_offline_prices_says_synthetic(tmp_path, capsys):
    state = ["--state-dir", str(tmp_path)]
    cli.main([*COMMANDS["run"], *state, "--json"])  # a day traded on the generated prices
    capsys.readouterr()
    for name, argv in COMMANDS.items():
        text, doc = _both(capsys, [*argv, *state])
        assert SYNTHETIC in text, name
        assert doc["synthetic"] is True, name


@pytest.fixture(scope="module")
def bars(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bars")
    symbols = sorted({"SPY", *load_portfolio(PACKAGED_CONFIG).symbols})
    for symbol, closes in OfflineMarketData().closes_between(symbols, date(2025, 1, 2), date(2026, 11, 25)).items():
        rows = "".join(f"{d.astype(date).isoformat()},{c}\n" for d, c in zip(closes.dates, closes.values, strict=True))
        (folder / f"{symbol}.csv").write_text("date,close\n" + rows)
    return folder


def test_real_data_is_not_called_synthetic(bars, tmp_path, capsys):
    state = ["--state-dir", str(tmp_path), ]
    cli.main([*COMMANDS["run"], *state, "--data", str(bars), "--json"])
    capsys.readouterr()
    for name in ("run", "plan"):
        text, doc = _both(capsys, [*COMMANDS[name], *state, "--data", str(bars)])
        assert SYNTHETIC not in text and doc["synthetic"] is False, name
    for name in ("status", "pnl"):
        text, doc = _both(capsys, [*COMMANDS[name], *state])
        assert SYNTHETIC not in text and doc["synthetic"] is False, name
