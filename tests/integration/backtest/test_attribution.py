"""Per-strategy attribution: a strategy alone with its allocation, on its own answers of each day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from alchemiser.backtest.engine import BacktestConfig, run_backtest
from alchemiser.backtest.fills import FillModel
from alchemiser.commands.signals import files_portfolio
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData

MIX = ('(defsymphony "mix" {}\n  (weight-equal [(asset "SPY") (asset "TLT") (asset "GLD")\n'
       '                 (filter (cumulative-return {:window 20}) (select-top 1) [(asset "QQQ") (asset "XLE")])]))\n')


def test_a_single_strategy_alone_is_the_portfolio(tmp_path):
    strategy = tmp_path / "mix.clj"
    strategy.write_text(MIX)
    config = BacktestConfig(files_portfolio([strategy]), OfflineMarketData(), ExchangeCalendar(),
                            date(2025, 1, 2), date(2025, 3, 31), fills=FillModel(Decimal(3)))
    result = run_backtest(config)
    alone = result.strategies["mix"]
    assert alone.capital == config.capital
    assert [r.equity for r in alone.equity] == [r.equity for r in result.portfolio.equity]
    assert len(alone.fills) == len(result.portfolio.fills) > 4


def test_two_strategies_each_run_on_their_share_of_the_capital(tmp_path):
    mix, spy = tmp_path / "mix.clj", tmp_path / "spy.clj"
    mix.write_text(MIX)
    spy.write_text('(defsymphony "spy" {}\n  (asset "SPY"))\n')
    config = BacktestConfig(files_portfolio([mix, spy]), OfflineMarketData(), ExchangeCalendar(),
                            date(2025, 1, 2), date(2025, 2, 28))
    result = run_backtest(config)
    assert {name: sim.capital for name, sim in result.strategies.items()} == {"mix": Decimal("50000.00"),
                                                                              "spy": Decimal("50000.00")}
    spy_alone = result.strategies["spy"]
    assert {f.symbol for f in spy_alone.fills} == {"SPY"}  # only its own answer, and the risk limits do not bind it
    held = [r.invested / r.equity for r in spy_alone.equity]
    assert min(held) > Decimal("0.98")
