"""Single-asset symphonies trade as written: 100% of one asset a day ("TQQQ or BIL" switchers, a `select-top 1`,
a constant holding). Five generated cases (bench/strategy_generator.py `single_asset`).

- With the defaults every session of ten years trades: nothing is blocked and the account is invested in the
  day's asset on every session.
- With a 75% cap in the portfolio file's [limits], `alchemiser run` (the Lambdas through the local runtime) and
  the backtest block the same days (refuse) or clip the same days (clip), and every output says which limit, its
  numbers and where to change it: the run summary (no bare --retry), its JSON, `status`, the notification (once),
  the TradeExecuted event, the P&L report, the backtest's headline, JSON and per-strategy panel.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alchemiser.backtest.engine import BacktestConfig, run_backtest
from alchemiser.backtest.fills import FillModel
from alchemiser.cli import main
from alchemiser.commands.signals import files_portfolio
from alchemiser.local.storage import Archive
from bench.strategy_generator import single_asset
from services.strategy.portfolio_config import load_portfolio
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData

CALENDAR = ExchangeCalendar()
CASES = range(5)
DAYS = [date(2026, 11, d) for d in (18, 19, 20, 23)]


def write_case(folder: Path, seed: int, limits: str = "") -> tuple[Path, Path]:
    strategy = folder / f"switcher{seed}.clj"
    strategy.write_text(single_asset(seed))
    config = folder / "portfolio.toml"
    config.write_text(f'[[strategy]]\nname = "switcher"\nfile = "{strategy.name}"\nallocation = "1"\n\n{limits}')
    return strategy, config


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("seed", CASES)
def test_with_the_defaults_every_session_of_ten_years_trades(tmp_path, seed):
    strategy, _ = write_case(tmp_path, seed)
    result = run_backtest(BacktestConfig(files_portfolio([strategy]), OfflineMarketData(), CALENDAR,
                                         date(2016, 1, 4), date(2025, 12, 31), benchmark=None, attribution=False))
    assert result.blocked == [] and len(result.sessions) == 2514
    # invested in the day's one asset every session (the cash reserve and fees stay out)
    assert min(row.invested / row.equity for row in result.portfolio.equity) > Decimal("0.97")
    assert result.portfolio.fills


def test_the_cli_backtest_of_a_switcher_blocks_nothing(tmp_path, capsys):
    strategy, _ = write_case(tmp_path, 0)
    code, out = cli(capsys, "backtest", "--strategy", str(strategy), "--from", "2021-01-04", "--to", "2025-12-31",
                    "--json", "--benchmark", "none")
    assert code == 0
    doc = json.loads(out)
    assert doc["blocked"] == [] and doc["limits"]["max_position_weight"]["text"] == "100%"


def _run_days(capsys, config: Path, state: Path) -> list[dict[str, Any]]:
    reports = []
    for day in DAYS:
        code, out = cli(capsys, "run", "--config", str(config), "--as-of", day.isoformat(), "--state-dir", str(state),
                        "--json")
        reports.append(json.loads(out))
        assert code == (1 if reports[-1]["status"] == "failed" else 0)
    return reports


def test_a_cap_in_the_portfolio_file_refuses_the_same_days_in_the_run_and_the_backtest_and_every_output_says_so(
        tmp_path, capsys):
    _, config = write_case(tmp_path, 0, "[limits]\nmax_position_weight = 0.75\n")
    state = tmp_path / "state"
    reports = _run_days(capsys, config, state)
    run_blocked = {DAYS[i] for i, r in enumerate(reports) if r["status"] == "failed"}
    assert run_blocked == set(DAYS)  # 100% of one asset every day: over the cap every day

    portfolio = load_portfolio(config)
    backtest = run_backtest(BacktestConfig(portfolio, OfflineMarketData(), CALENDAR, DAYS[0], DAYS[-1],
                                           fills=FillModel(Decimal(5)), limits=portfolio.limits, benchmark=None))
    assert {b.trade_date for b in backtest.blocked} == run_blocked
    assert {b.limit for b in backtest.blocked} == {"max_position_weight"}

    # the run's JSON: the binding, no bare retry, the retry that would pass
    first = reports[0]
    [binding] = first["limit_bindings"]
    assert binding["limit"] == "max_position_weight" and binding["action"] == "refused"
    assert "portfolio.toml:7" in binding["change"] and "would be 99% of equity" in binding["message"]
    assert first["retry_command"] is None
    assert first["retry_after_changing_limits"] == f"alchemiser run --as-of {DAYS[0]} --retry --max-position-weight 1"

    # the run summary (text) of a refused day
    _, text = cli(capsys, "run", "--config", str(config), "--as-of", DAYS[-1].isoformat(), "--state-dir",
                     str(state))
    assert "max_position_weight (75%)" in text and "--max-position-weight" in text and "portfolio.toml:7" in text
    assert "refused the same way" in text and "To start a new, fully re-gated run" not in text

    # the TradeExecuted event
    trades = [e["detail"] for e in Archive(state).events() if e["detail-type"] == "TradeExecuted"]
    assert {b["limit"] for t in trades for b in t["limit_bindings"]} == {"max_position_weight"}

    # status
    _, status = cli(capsys, "status", "--state-dir", str(state))
    assert "max_position_weight (75%)" in status

    # the notification, once per refused day
    notes = (state / "notifications.log").read_text()
    for day in DAYS:
        assert notes.count(f"Workflow run-{day}-paper failed at execution: limit bound: max_position_weight") == 1
    assert "A retry with the same limits is refused the same way" in notes

    # the P&L report
    _, pnl = cli(capsys, "pnl", "--state-dir", str(state), "--as-of", f"{DAYS[-1]}T16:30:00-05:00", "--period",
                    "1M")
    assert "Limits that bound (4 day(s) in the period)" in pnl and "max_position_weight (75%)" in pnl

    # the backtest's outputs
    code, out = cli(capsys, "backtest", "--config", str(config), "--from", DAYS[0].isoformat(), "--to",
                    DAYS[-1].isoformat(), "--benchmark", "none")
    assert code == 0
    assert "4 of 4 sessions blocked by max_position_weight (75%)" in out
    assert "did not trade" in out
    html = tmp_path / "tearsheet.html"
    assert main(["backtest", "--config", str(config), "--from", DAYS[0].isoformat(), "--to", DAYS[-1].isoformat(),
                 "--benchmark", "none", "--html", str(html)]) == 0
    capsys.readouterr()
    assert 'id="blocked-count" data-blocked="4" data-refused="0"' in html.read_text()  # the header counts them


def test_clip_mode_clips_the_same_days_and_the_account_holds_the_cap(tmp_path, capsys):
    _, config = write_case(tmp_path, 2, '[limits]\nmax_position_weight = 0.75\nposition_cap = "clip"\n'
                                        'cash_symbol = "BIL"\n')
    state = tmp_path / "state"
    reports = _run_days(capsys, config, state)
    assert [r["status"] for r in reports] == ["completed"] * len(DAYS)
    clipped_run = {DAYS[i] for i, r in enumerate(reports) if any(b["action"] == "clipped" for b in r["limit_bindings"])}
    portfolio = load_portfolio(config)
    backtest = run_backtest(BacktestConfig(portfolio, OfflineMarketData(), CALENDAR, DAYS[0], DAYS[-1],
                                           fills=FillModel(Decimal(5)), limits=portfolio.limits, benchmark=None))
    assert backtest.blocked == [] and {c.trade_date for c in backtest.clipped} == clipped_run == set(DAYS)
    after = reports[-1]["portfolio_after"]
    weights = {p["symbol"]: Decimal(p["market_value"]) / Decimal(after["equity"]) for p in after["positions"]}
    assert Decimal("0.70") < weights["UGL"] <= Decimal("0.75") and weights["BIL"] > Decimal("0.2")
    _, status = cli(capsys, "status", "--state-dir", str(state))
    assert "limit: max_position_weight (75%): UGL clipped from 100% to 75%; 25% to BIL" in status
    report = (state / "notifications.log").read_text()
    assert "LIMITS THAT BOUND" in report
    _, out = cli(capsys, "backtest", "--config", str(config), "--from", DAYS[0].isoformat(), "--to",
                 DAYS[-1].isoformat(), "--benchmark", "none")
    assert "4 of 4 sessions clipped by max_position_weight (75%)" in out


def test_an_out_of_range_limit_is_exit_2_naming_the_key_and_file_line(tmp_path, capsys):
    _, config = write_case(tmp_path, 2, "[limits]\nmax_position_weight = 1.5\n")
    for argv in (["run", "--config", str(config), "--as-of", "2026-11-25", "--state-dir", str(tmp_path / "s")],
                 ["backtest", "--config", str(config)], ["limits", "--config", str(config)],
                 ["plan", "--config", str(config), "--as-of", "2026-11-25", "--state-dir", str(tmp_path / "s")],
                 ["signals", "--config", str(config)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "portfolio.toml:7: [limits] max_position_weight = 1.5" in err, (argv, err)
