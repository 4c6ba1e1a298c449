"""The daily report and error notifications, as the user reads them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from services.orchestrator.messages.workflow_messages import error_notification, percent, subject_line
from services.orchestrator.state_machine import apply
from services.orchestrator.transition import Options
from services.orchestrator.workflow_record import EquitySnapshot
from tests.unit.orchestrator.support import T0, sample


def report_for(*events, previous=None):
    record = None
    for event in events:
        record = apply(record, event, now=T0, options=Options(previous_snapshot=previous)).record or record
    (notify,) = [e for e in record.pending if e.kind == "notify"]
    return notify.notification


FULL_DAY = (sample("WorkflowStarted"), sample("SignalGenerated"), sample("RebalancePlanned"), sample("TradeExecuted"))


def test_daily_report_says_what_the_strategies_chose_and_why():
    text = report_for(*FULL_DAY).message
    assert "WHAT THE STRATEGIES CHOSE, AND WHY" in text
    assert "trend-switcher (50.00% of the portfolio) -> TQQQ 100.00%" in text
    assert "      if current-price(SPY) 601.20 > moving-average-price(SPY, 200) 560.85 -> then" in text
    assert "risk-parity (50.00% of the portfolio) -> GLD 50.00%, TLT 50.00%" in text
    assert "weight-inverse-volatility 20d: TLT vol 0.91% -> 50%, GLD vol 0.91% -> 50%" in text
    assert "Net target: TQQQ 50.00%, GLD 25.00%, TLT 25.00% (data as of 2026-11-24)" in text


def test_daily_report_lists_the_plan_orders_fills_and_totals():
    text = report_for(*FULL_DAY).message
    assert "PLAN plan-7f3a9c2e1b4d5a60\n  3 buys ($99,000.00); 0 sells; nothing skipped" in text
    tqqq = next(line for line in text.splitlines() if "TQQQ" in line and "filled 600.654" in line)
    assert tqqq.split() == ["BUY", "TQQQ", "$49,500.00", "notional", "filled", "600.654", "@", "$82.41", "filled"]
    assert ("3 at the broker (3 placed now, 0 adopted from an earlier run), 3 filled, 0 partially filled, 0 failed, "
            "0 skipped; turnover $99,000.00 "
            "(buys $99,000.00, sells $0.00)") in text


def test_daily_report_gives_equity_before_after_and_day_pnl_against_the_previous_snapshot():
    previous = EquitySnapshot(trading_mode="paper", trading_date=date(2026, 11, 24), correlation_id="run-2026-11-24",
                              recorded_at=T0 - timedelta(days=1), equity_after=Decimal("98000.00"))
    notification = report_for(*FULL_DAY, previous=previous)
    text = notification.message
    assert "before trading   $100,000.00" in text
    assert "after trading    $99,995.10  (-$4.90, -0.0049% while trading)" in text
    assert "day P&L          +$1,995.10 (+2.04%) since $98,000.00 on 2026-11-24" in text
    assert notification.subject == "Alchemiser [paper] 2026-11-25: completed, 3 filled, equity $99,995.10 (+2.04%)"


def test_daily_report_without_earlier_steps_says_what_was_not_seen():
    text = report_for(sample("TradeExecuted")).message
    assert "not recorded (SignalGenerated was not seen for this workflow)" in text
    assert "not recorded (RebalancePlanned was not seen for this workflow)" in text
    assert "day P&L          n/a (no earlier completed workflow recorded)" in text


def test_daily_report_is_plain_ascii_text_with_step_times():
    text = report_for(*FULL_DAY).message
    assert text.isascii()
    assert "signals 0.0 s, planned 1.0 s, executed 6.0 s, completed 3.0 s" in text


def test_error_notification_names_workflow_error_step_and_details():
    notification = error_notification(sample("ErrorNotificationRequested"))
    assert notification.key == "error:a870ef40-96f7-5651-a8b2-655a1b5b7403"
    assert notification.subject == "Alchemiser [paper] ERROR: AccountBlocked in run-2026-11-25-paper"
    for expected in ("Workflow:      run-2026-11-25-paper", "Error:         AccountBlocked",
                     "Step:          portfolio", "When:          2026-11-25 14:35:04 UTC",
                     "  Workflow run-2026-11-25-paper failed at portfolio: account is blocked: trading_blocked=true",
                     "  failed_event_id: a698afd6-ee93-51d7-bb5c-ce9de37d6eb7"):
        assert expected in notification.message


def test_subjects_are_one_ascii_line_of_at_most_100_characters():
    subject = subject_line("Alchemiser \u2014 " + "x" * 200 + "\nsecond line")
    assert len(subject) == 100 and subject.isascii() and "\n" not in subject and subject.endswith("...")


def test_small_percentages_keep_their_digits():
    assert percent(Decimal("-0.000049")) == "-0.0049%"
    assert percent(Decimal("0.0204"), signed=True) == "+2.04%"
    assert percent(Decimal(0)) == "0.00%"


def test_report_times_are_utc():
    notification = error_notification(sample("ErrorNotificationRequested",
                                             occurred_at=datetime.fromisoformat("2026-11-25T09:35:04-05:00")))
    assert "When:          2026-11-25 14:35:04 UTC" in notification.message


def test_long_explanations_are_cut_in_the_report():
    signals = sample("SignalGenerated")
    long = signals.strategies[0].model_copy(update={"explanation": tuple(f"step {i}" for i in range(55))})
    text = report_for(sample("SignalGenerated", strategies=[long]), sample("TradeExecuted")).message
    assert "      step 39" in text and "step 40" not in text and "      ... 15 more line(s)" in text
