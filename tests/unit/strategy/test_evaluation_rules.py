"""evaluate_signals: rebalance frequency, errors collected beside the others, the data day of a run."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from services.strategy.language import StrategyError, evaluate, parse_text
from services.strategy.portfolio_config import StrategyEntry, StrategyPortfolio
from services.strategy.run_rules import equal_allocations
from services.strategy.signals import evaluate_signals
from shared.marketdata.offline import OfflineMarketData
from tests.unit.strategy.support import NEW_YORK, SCHEDULER_TIME_EVENT, harness

SWITCH = '(if (> (cumulative-return "SPY" {:window 1}) 0) [(asset "SPY")] [(asset "BIL")])'


def portfolio(*texts: str) -> StrategyPortfolio:
    entries = []
    for i, (text, share) in enumerate(zip(texts, equal_allocations(len(texts)), strict=True)):
        entries.append(StrategyEntry(f"s{i}", Path(f"/tmp/s{i}.clj"), share, parse_text(text, f"s{i}.clj")))
    return StrategyPortfolio(Path("/tmp/portfolio.toml"), tuple(entries))


def symphony(options: str) -> str:
    return f'(defsymphony "switch" {options} {SWITCH})'


def test_a_monthly_strategy_holds_the_targets_of_the_first_session_of_the_month():
    data = OfflineMarketData()
    monthly = portfolio(symphony("{:rebalance-frequency :monthly}"))
    daily = portfolio(symphony("{}"))
    # every November 2026 session: the monthly answer is the daily answer of November 2nd
    on_the_2nd = evaluate_signals(daily, data, date(2026, 11, 2)).weights
    seen_daily = set()
    for day in (date(2026, 11, d) for d in (3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 23, 24, 25)):
        assert evaluate_signals(monthly, data, day).weights == on_the_2nd
        seen_daily.add(tuple(evaluate_signals(daily, data, day).weights))
    assert len(seen_daily) == 2  # the daily strategy does switch in between: the test can tell them apart
    signals = evaluate_signals(monthly, data, date(2026, 11, 24))
    assert signals.outcomes[0].evaluation.as_of == date(2026, 11, 2)
    assert "targets decided on 2026-11-02, held through 2026-11-24" in signals.outcomes[0].evaluation.render()
    assert evaluate_signals(monthly, data, date(2026, 12, 1)).weights == evaluate_signals(
        daily, data, date(2026, 12, 1)).weights


def test_evaluate_on_an_earlier_day_uses_only_closes_up_to_that_day():
    data = OfflineMarketData()
    s = parse_text(symphony("{}"))
    long = data.history(["SPY", "BIL"], date(2026, 11, 24), 40)
    short = data.history(["SPY", "BIL"], date(2026, 11, 10), 30)
    assert evaluate(s, long, on=date(2026, 11, 10)).weights == evaluate(s, short).weights
    with pytest.raises(StrategyError, match="starts after"):
        evaluate(s, long, on=date(2000, 1, 1))


class NoLastQQQClose:
    """Offline data in which QQQ has no close on the last day (a halted listing)."""

    def __init__(self) -> None:
        self.inner = OfflineMarketData(strict=True)

    def history(self, symbols, end, lookback_days):  # type: ignore[no-untyped-def]
        found = self.inner.history(symbols, end, lookback_days)
        if "QQQ" in found.closes:
            found.closes["QQQ"][-1] = float("nan")
        return found


def test_collected_errors_stand_beside_the_other_strategies_results():
    good = symphony("{}")
    typo = '(defsymphony "typo" {} (asset "NOPE"))'
    halted = '(defsymphony "halted" {} (weight-equal [(asset "QQQ") (asset "SPY")]))'
    p = portfolio(good, typo, halted)
    with pytest.raises(Exception):  # noqa: B017 - the trading path still fails as a whole
        evaluate_signals(p, NoLastQQQClose(), date(2026, 11, 24))  # type: ignore[arg-type]
    signals = evaluate_signals(p, NoLastQQQClose(), date(2026, 11, 24), collect_errors=True)
    assert [o.entry.name for o in signals.outcomes] == ["s0"]
    assert [f.name for f in signals.failures] == ["s1", "s2"]
    assert "NOPE" in signals.failures[0].reason
    assert "s2.clj:1:" in signals.failures[1].reason
    assert signals.net is None and signals.weights == {}
    assert set(signals.as_dict()["errors"]) == {"s1", "s2"}


def test_the_trade_run_reads_the_last_session_closed_before_its_scheduled_moment(state_dir):
    h = harness(state_dir)
    # a retry at 17:30 of the 09:35 scheduled delivery reads the same closes as the first attempt
    late = datetime(2026, 11, 25, 17, 30, tzinfo=NEW_YORK)
    response = h.invoke(SCHEDULER_TIME_EVENT, at=late)
    assert response["data_as_of"] == "2026-11-24"
    assert "data through 2026-11-24 close" in response["message"]


def test_a_direct_command_after_the_close_reads_that_days_closes(state_dir):
    h = harness(state_dir)
    response = h.invoke({"mode": "trade"}, at=datetime(2026, 11, 25, 16, 5, tzinfo=NEW_YORK))
    assert response["data_as_of"] == "2026-11-25"
    signal = h.invoke({"mode": "signal"}, at=datetime(2026, 11, 24, 16, 0, tzinfo=NEW_YORK))
    assert signal["as_of"] == "2026-11-24"
    assert signal["data_through"].startswith("data through 2026-11-24 close")
