"""Data that ends before today: the backtest ends where the data ends, and signals/run say which --as-of works."""

from __future__ import annotations

import json
from datetime import date

import pytest

from alchemiser import cli
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from shared.marketdata.offline import OfflineMarketData

LAST = date(2026, 6, 30)  # a Tuesday; the next session is Wednesday 2026-07-01


@pytest.fixture(scope="module")
def bars(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bars")
    symbols = sorted({"SPY", *load_portfolio(PACKAGED_CONFIG).symbols})
    for symbol, closes in OfflineMarketData().closes_between(symbols, date(2024, 1, 2), LAST).items():
        rows = "".join(f"{d.astype(date).isoformat()},{c}\n" for d, c in zip(closes.dates, closes.values, strict=True))
        (folder / f"{symbol}.csv").write_text("date,close\n" + rows)
    return folder


def test_the_backtest_ends_where_the_data_ends_and_says_so(bars, capsys):
    assert cli.main(["backtest", "--data", str(bars), "--from", "2026-05-01", "--no-attribution"]) == 0
    out = capsys.readouterr().out
    assert "→ 2026-06-30" in out
    assert "The data ends on 2026-06-30: the backtest ends there (--to picks another end)" in out
    assert cli.main(["backtest", "--data", str(bars), "--from", "2026-05-01", "--no-attribution", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["range"]["to"] == "2026-06-30" and doc["range"]["data_ends"] == "2026-06-30"


def test_signals_says_which_as_of_the_data_serves(bars, capsys):
    assert cli.main(["signals", "--data", str(bars)]) == 0
    err = capsys.readouterr().err
    assert "the data ends on 2026-06-30; pass --as-of 2026-07-01" in err


def test_run_refuses_before_starting_and_the_hint_works(bars, tmp_path, capsys):
    state = ["--state-dir", str(tmp_path / "state"), "--data", str(bars)]
    assert cli.main(["run", *state]) == 2
    err = capsys.readouterr().err
    assert "the data ends on 2026-06-30; pass --as-of 2026-07-01" in err
    assert not (tmp_path / "state" / "state.sqlite").exists()  # no failed workflow to retry later
    assert cli.main(["run", *state, "--as-of", "2026-07-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
