"""Rebalance frequency: the first session of each period decides, the others hold its targets."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from services.strategy.language import StrategyError, parse_text
from services.strategy.language.nodes import Keyword
from services.strategy.rebalance import (
    FREQUENCIES,
    is_rebalance_day,
    parse_frequency,
    period_of,
    rebalance_day,
    rebalance_mask,
)
from shared.marketdata.calendar import ExchangeCalendar

SESSIONS = ExchangeCalendar().sessions_between(date(2025, 12, 1), date(2026, 12, 31))


def test_frequencies_are_parsed_from_keywords_strings_and_nothing():
    assert parse_frequency(Keyword("monthly")) == "monthly"
    assert parse_frequency(":Weekly") == "weekly"
    assert parse_frequency(None) == "daily"
    assert FREQUENCIES == ("none", "daily", "weekly", "monthly", "quarterly", "yearly")
    with pytest.raises(ValueError, match="expected one of :none, :daily"):
        parse_frequency(Keyword("hourly"))


def test_the_first_session_of_the_month_is_the_monthly_rebalance_day():
    # 2026-06-01 is a Monday session; 2026-11-02 the first November session.
    assert is_rebalance_day("monthly", date(2026, 6, 1), SESSIONS)
    assert not is_rebalance_day("monthly", date(2026, 6, 2), SESSIONS)
    assert rebalance_day("monthly", date(2026, 11, 24), SESSIONS) == date(2026, 11, 2)
    # a holiday at the start of the period: 2026-01-01 is closed, so January starts on the 2nd
    assert rebalance_day("monthly", date(2026, 1, 15), SESSIONS) == date(2026, 1, 2)
    assert rebalance_day("yearly", date(2026, 12, 31), SESSIONS) == date(2026, 1, 2)
    assert not is_rebalance_day("monthly", date(2026, 11, 1), SESSIONS)  # a Sunday: no session


def test_weekly_quarterly_and_daily_periods():
    # Thanksgiving week 2026: Monday 23rd is the first session
    assert rebalance_day("weekly", date(2026, 11, 27), SESSIONS) == date(2026, 11, 23)
    # the week after Labor Day (Monday 7 September 2026 closed) starts on Tuesday
    assert rebalance_day("weekly", date(2026, 9, 10), SESSIONS) == date(2026, 9, 8)
    assert rebalance_day("quarterly", date(2026, 8, 20), SESSIONS) == date(2026, 7, 1)
    assert rebalance_day("daily", date(2026, 8, 20), SESSIONS) == date(2026, 8, 20)
    assert rebalance_day("none", date(2026, 8, 22), SESSIONS) == date(2026, 8, 21)  # Saturday -> Friday
    assert period_of("quarterly", date(2026, 12, 31)) == (2026, 3)


def test_the_mask_matches_the_day_by_day_rule():
    mask = rebalance_mask("monthly", SESSIONS)
    assert mask.sum() == 13  # December 2025 + the 12 months of 2026
    for day, flag in zip(SESSIONS, mask, strict=True):
        assert flag == is_rebalance_day("monthly", day, SESSIONS)
    assert rebalance_mask("daily", SESSIONS).all()


def test_no_session_before_the_day_is_an_error():
    with pytest.raises(ValueError, match="no session on or before"):
        rebalance_day("monthly", date(2020, 1, 1), SESSIONS)
    assert rebalance_day("monthly", np.datetime64("2026-03-20"), SESSIONS) == date(2026, 3, 2)


def test_the_parsed_symphony_carries_its_frequency_and_corridor():
    text = '(defsymphony "m" {:rebalance-frequency :monthly} (asset "SPY"))'
    assert parse_text(text).rebalance_frequency == "monthly"
    assert parse_text('(defsymphony "d" {} (asset "SPY"))').rebalance_frequency == "daily"
    corridor = parse_text('(defsymphony "c" {:rebalance-frequency :none :rebalance-corridor-width 0.1} (asset "SPY"))')
    assert corridor.rebalance_frequency == "none"
    assert str(corridor.corridor_width) == "0.1"
    assert str(corridor.rebalance_threshold) == "0.1"


def test_a_wrong_frequency_or_corridor_names_where():
    with pytest.raises(StrategyError, match=r"x.clj:1:18: unknown rebalance frequency :hourly"):
        parse_text('(defsymphony "x" {:rebalance-frequency :hourly} (asset "SPY"))', "x.clj")
    with pytest.raises(StrategyError, match="corridor-width must be a number between 0 and 1"):
        parse_text('(defsymphony "x" {:rebalance-corridor-width 5} (asset "SPY"))', "x.clj")
