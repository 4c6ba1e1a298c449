"""A typo'd ticker is not a strategy: offline data invents no history for a ticker it does not know, unless asked."""

from __future__ import annotations

import json
from datetime import date

import pytest

from alchemiser import cli
from shared.marketdata.offline import OfflineMarketData, UnknownTicker

TYPO = '(defsymphony "typo" {}\n  (weight-equal [(asset "SPY")\n                 (asset "ZZZQ")]))\n'


@pytest.fixture
def typo(tmp_path):
    path = tmp_path / "typo.clj"
    path.write_text(TYPO)
    return path


@pytest.mark.parametrize("command", [
    ["signals", "--as-of", "2026-11-25"],
    ["plan", "--as-of", "2026-11-25"],
    ["run", "--as-of", "2026-11-25"],
    ["backtest", "--from", "2026-11-02", "--to", "2026-11-25", "--no-attribution"],
])
def test_every_command_names_the_ticker_where_it_is_and_the_closest_known_ones(command, typo, tmp_path, capsys):
    code = cli.main([*command, "--strategy", str(typo), "--state-dir", str(tmp_path / "state")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"strategy 'typo': {typo}:3:18: 'ZZZQ' is not a ticker the offline market knows (closest: ZROZ" in err
    assert "--allow-invented-tickers" in err
    assert not (tmp_path / "state" / "state.sqlite").exists()  # refused before anything ran


def test_the_flag_gives_it_an_invented_history(typo, tmp_path, capsys):
    assert cli.main(["signals", "--as-of", "2026-11-25", "--strategy", str(typo), "--allow-invented-tickers",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["weights"] == {"SPY": "0.500000000", "ZZZQ": "0.500000000"}
    code = cli.main(["run", "--as-of", "2026-11-25", "--strategy", str(typo), "--state-dir", str(tmp_path / "s"),
                     "--allow-invented-tickers", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["status"] == "completed"
    assert {o["symbol"] for o in doc["orders"]} == {"SPY", "ZZZQ"}  # the simulated broker knows it too
    import os

    assert "ALCHEMISER_ALLOW_INVENTED_TICKERS" not in os.environ  # only for the command


def test_well_known_stocks_and_etfs_still_run_offline():
    data = OfflineMarketData(invent_any=False)
    history = data.history(["AAPL", "BRK.B", "SGOV", "SPY"], date(2026, 11, 24), 20)
    assert set(history.closes) == {"AAPL", "BRK.B", "SGOV", "SPY"}
    assert not data.any_symbol and "AAPL" in data.symbols


def test_the_data_refuses_what_it_does_not_know_and_says_what_is_close():
    with pytest.raises(UnknownTicker) as info:
        OfflineMarketData(invent_any=False).history(["SPY", "APPL", "TQQQQ"], date(2026, 11, 24), 5)
    assert info.value.symbols == ("APPL", "TQQQQ")
    assert "AAPL" in info.value.suggestions["APPL"] and info.value.suggestions["TQQQQ"][0] == "TQQQ"
    assert "--allow-invented-tickers" in str(info.value)


def test_the_environment_lets_the_local_functions_invent(monkeypatch):
    monkeypatch.setenv("ALCHEMISER_ALLOW_INVENTED_TICKERS", "1")
    assert OfflineMarketData().any_symbol
    assert OfflineMarketData().history(["ZZZQ"], date(2026, 11, 24), 5).closes["ZZZQ"].shape == (5,)
