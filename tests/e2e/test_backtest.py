"""`alchemiser backtest` as a user runs it: the summary, --json, --png, bad input (the --html page in a real
browser: test_tearsheet.py)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import alchemiser

RANGE = ("--from", "2025-01-02", "--to", "2025-06-30")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backtest")
    html, png = folder / "tearsheet.html", folder / "equity.png"
    result = alchemiser("backtest", *RANGE, "--slippage-bps", "5", "--fee-per-share", "0.005", "--json",
                        "--html", str(html), "--png", str(png), "--log-scale")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), html, png, result.stderr


def test_the_json_has_the_documented_sections(outputs):
    doc, _, _, _ = outputs
    for key in ("metrics", "benchmark", "strategies", "equity", "allocations", "orders"):
        assert key in doc
    sessions = doc["range"]["sessions"]
    assert sessions == len(doc["equity"]) == len(doc["allocations"]) > 100
    assert set(doc["equity"][0]) == {"trade_date", "equity", "cash"}
    first = doc["allocations"][0]
    assert (first["trade_date"], first["data_date"]) == ("2025-01-02", "2024-12-31")
    for row in doc["allocations"]:
        assert sum(Decimal(w) for w in row["weights"].values()) == 1
        assert row["data_date"] < row["trade_date"]
    order = doc["orders"][0]
    assert {"date", "symbol", "side", "qty", "notional", "fill_price", "fee"} <= set(order)
    assert Decimal(doc["metrics"]["fees"]) > 0 and Decimal(doc["metrics"]["slippage"]) > 0
    assert doc["benchmark"]["symbol"] == "SPY" and "sharpe" in doc["benchmark"]
    assert set(doc["strategies"]) == {"leveraged-trend", "momentum-rotation", "risk-parity"}
    assert doc["fill_model"] == {"price": "close", "slippage_bps": "5", "fee_per_share": "0.005"}
    assert any("kill switch" in text for text in doc["not_applied"])
    assert doc["synthetic"] is True  # offline prices are labelled as such


def test_progress_goes_to_stderr_with_elapsed_and_eta(outputs):
    _, _, _, stderr = outputs
    assert re.search(r"evaluate: day \d+/\d+ \(\d+%\), elapsed [\d.]+s, ETA [\d.]+s", stderr)
    assert re.search(r"backtest: 100% done, elapsed [\d.]+s", stderr)
    assert "tearsheet written to" in stderr


def test_the_summary_is_readable():
    result = alchemiser("backtest", "--from", "2025-03-03", "--to", "2025-04-30", "--no-attribution")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ("Backtest of portfolio.toml: 2025-03-03 → 2025-04-30", "Sharpe", "Max drawdown", "CAGR",
                 "SPY", "Yearly returns:", "Not applied by a backtest: the kill switch",
                 "SYNTHETIC: the offline prices are generated"):
        assert text in out
    assert "evaluate: day" not in out  # progress is on stderr only


def test_the_png_is_an_image_of_the_equity_and_drawdown(outputs):
    _, _, png, _ = outputs
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


# ---------------------------------------------------------------------------------------- bad input


def _fails(*args: str) -> str:
    result = alchemiser("backtest", *args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def _csv_folder(folder: Path, symbols: tuple[str, ...], starts: dict[str, str] | None = None,
                gaps: dict[str, str] | None = None) -> Path:
    """Real-data layout (SYMBOL.csv, date,close) for these symbols, from the offline history
    (from 2023, or from `starts[symbol]` for a young one; without the row of `gaps[symbol]`)."""
    from datetime import date

    from shared.marketdata.offline import OfflineMarketData

    folder.mkdir()
    for symbol in symbols:
        first = date.fromisoformat((starts or {}).get(symbol, "2023-01-03"))
        closes = OfflineMarketData().closes_between([symbol], first, date(2025, 6, 30))[symbol]
        rows = [f"{d.astype(date).isoformat()},{c:.2f}" for d, c in zip(closes.dates, closes.values, strict=True)
                if d.astype(date).isoformat() != (gaps or {}).get(symbol)]
        (folder / f"{symbol}.csv").write_text("date,close\n" + "\n".join(rows) + "\n")
    return folder


def test_an_unknown_ticker_names_the_strategy_file_line_and_column(tmp_path):
    strategy = tmp_path / "typo.clj"
    strategy.write_text('(defsymphony "typo" {}\n  (weight-equal [(asset "SPY")\n                 (asset "NOPEX")]))\n')
    data = _csv_folder(tmp_path / "bars", ("SPY",))
    err = _fails("--strategy", str(strategy), "--data", str(data), *RANGE)
    assert f"strategy 'typo': {strategy}:3:18: no price data for ticker 'NOPEX' through 2025-06-27" in err


YOUNG = ('(defsymphony "young" {}\n  (if (> (rsi "QQQ" {:window 10}) 50)\n'
         '      [(asset "QQQ")]\n      [(asset "SPY")]))\n')


def test_a_ticker_younger_than_the_range_names_the_strategy_file_line_and_column(tmp_path):
    strategy = tmp_path / "young.clj"
    strategy.write_text(YOUNG)
    data = _csv_folder(tmp_path / "bars", ("SPY", "QQQ"), {"QQQ": "2025-03-03"})
    err = _fails("--strategy", str(strategy), "--data", str(data), *RANGE)
    assert ("--from 2025-01-02 is too early for 1 of 1 strategy (each session trades on the previous session's "
            f"closes):\n  'young' (young.clj): can start on 2025-03-18; on the closes of 2024-12-31: {strategy}:2:10: "
            "no price data for ticker 'QQQ' on or before 2024-12-31") in err
    assert "Start --from 2025-03-18 or later" in err


def test_a_strategy_that_cannot_be_evaluated_on_some_day_names_it_the_place_and_the_day(tmp_path):
    """The first session holds SPY; on the first day SPY closes above that day's close, the branch
    reads a 200-day RSI of QQQ, whose data started on 2025-03-03: that day cannot be evaluated."""
    from datetime import date

    from shared.marketdata.offline import OfflineMarketData

    spy = OfflineMarketData().closes_between(["SPY"], date(2025, 3, 7), date(2025, 4, 30))["SPY"]
    above = next(d.astype(date) for d, c in zip(spy.dates, spy.values, strict=True) if c > spy.values[0] + 0.01)
    strategy = tmp_path / "branch.clj"
    strategy.write_text(f'(defsymphony "branch" {{}}\n  (if (> (current-price "SPY") {spy.values[0] + 0.01:.2f})\n'
                        '      [(if (> (rsi "QQQ" {:window 200}) 50) [(asset "QQQ")] [(asset "SPY")])]\n'
                        '      [(asset "SPY")]))\n')
    data = _csv_folder(tmp_path / "bars", ("SPY", "QQQ"), {"QQQ": "2025-03-03"})
    err = _fails("--strategy", str(strategy), "--data", str(data), "--from", "2025-03-10", "--to", "2025-04-30")
    assert ("strategy 'branch' cannot be evaluated for " in err and f"(closes of {above}): {strategy}:3:15: "
            f"not enough history for rsi(QQQ, 200) on {above}: it needs 201 consecutive daily closes") in err


def test_csv_data_backtests_like_the_same_offline_prices(tmp_path):
    strategy = tmp_path / "hold.clj"
    strategy.write_text('(defsymphony "hold" {}\n  (weight-equal [(asset "SPY") (asset "QQQ")]))\n')
    data = _csv_folder(tmp_path / "bars", ("SPY", "QQQ"))
    result = alchemiser("backtest", "--strategy", str(strategy), "--data", str(data), *RANGE, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["range"]["sessions"] == 122 and len(doc["orders"]) >= 2
    assert doc["synthetic"] is False
    first = {s: Decimal(w) for s, w in doc["allocations"][0]["weights"].items()}
    assert first == {"QQQ": Decimal("0.5"), "SPY": Decimal("0.5")}


def test_a_range_without_sessions_is_a_usage_error():
    assert "no trading session between 2025-12-25 and 2025-12-25" in _fails("--from", "2025-12-25", "--to",
                                                                            "2025-12-25")


def test_a_start_before_the_data_is_a_usage_error():
    err = _fails("--from", "2004-06-01", "--to", "2005-02-01")
    assert "--from 2004-06-01 is before the market data starts" in err and "2005-01-03" in err


def test_a_start_without_enough_history_names_every_strategy_with_the_first_session_it_can_start_on():
    err = _fails("--from", "2005-02-01", "--to", "2005-03-01")
    assert "--from 2005-02-01 is too early for 3 of 3 strategies" in err
    assert "'leveraged-trend' (leveraged_trend.clj): can start on 2005-10-18; on the closes of 2005-01-31: " in err
    assert "moving-average-price(SPY, 200) on 2005-01-31: it needs 200 consecutive daily closes, 'SPY' has 20" in err
    assert "'momentum-rotation' (momentum_rotation.clj): can start on 2005-04-01" in err
    assert "'risk-parity' (risk_parity.clj): can start on 2005-05-26" in err
    assert "Start --from 2005-10-18 or later" in err
    assert "is too early" in _fails("--from", "2005-10-17", "--to", "2005-11-01")
    ok = alchemiser("backtest", "--from", "2005-10-18", "--to", "2005-11-01", "--json")
    assert ok.returncode == 0, ok.stderr


def test_bad_options_are_usage_errors():
    assert "is not a date" in _fails("--from", "2025-13-01")
    assert "is after --to" in _fails("--from", "2025-02-01", "--to", "2025-01-01")
    assert "must be a number of at least 0" in _fails("--slippage-bps", "-1")
    assert "either --strategy files or --config" in _fails("--strategy", "a.clj", "--config", "b.toml")


def test_a_missing_strategy_file_is_a_usage_error(tmp_path):
    err = _fails("--strategy", str(tmp_path / "nowhere.clj"), *RANGE)
    assert "nowhere.clj" in err


def test_the_readme_screenshot_is_committed_and_small():
    image = Path(__file__).resolve().parents[2] / "docs" / "images" / "backtest.png"
    data = image.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 200_000
