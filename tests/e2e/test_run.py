"""`alchemiser run`: a whole local trading day, as a newcomer runs it."""

from __future__ import annotations

from datetime import datetime

from alchemiser.local.day import DayOptions, run_day
from shared.runtime.clock import NEW_YORK
from tests.e2e.conftest import alchemiser, alchemiser_json, broker_orders

DAY = "2026-11-25T09:35:00-05:00"
CHAIN = ["WorkflowStarted", "SignalGenerated", "RebalancePlanned", "TradeExecuted", "WorkflowCompleted"]


def test_a_trading_day_completes_with_the_whole_chain_in_order(state_dir):
    report = alchemiser_json("run", "--as-of", DAY, "--state-dir", str(state_dir))
    assert report["status"] == "completed"
    assert report["correlation_id"] == "run-2026-11-25-paper"
    assert report["events"] == CHAIN
    assert report["orders_at_broker"] == len(broker_orders(state_dir)) > 0
    assert report["duplicates_suppressed"] >= 1  # TradeExecuted reaches the orchestrator through two rules


def test_running_the_same_day_again_places_no_new_order(state_dir):
    alchemiser_json("run", "--as-of", DAY, "--state-dir", str(state_dir))
    before = {o.client_order_id for o in broker_orders(state_dir)}
    again = alchemiser_json("run", "--as-of", DAY, "--state-dir", str(state_dir))
    assert again["status"] == "duplicate" and again["events"] == [] and again["orders_at_broker"] == 0
    assert {o.client_order_id for o in broker_orders(state_dir)} == before


def test_thanksgiving_is_skipped_with_the_reason(state_dir):
    report = alchemiser_json("run", "--as-of", "2026-11-26T09:35:00-05:00", "--state-dir", str(state_dir))
    assert report["status"] == "skipped" and "holiday" in report["reason"]
    assert report["events"] == [] and broker_orders(state_dir) == []


def test_the_summary_shows_weights_reasons_plan_fills_portfolio_and_status(state_dir):
    result = alchemiser("run", "--as-of", DAY, "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in ("Target weights (data as of 2026-11-24)", "Why", "Plan plan-", "Orders (executed",
                    "Portfolio", "Workflow run-2026-11-25-paper: completed"):
        assert heading in out
    assert "strategy     <- Scheduled Event" in out  # progress, hop by hop
    assert "if " in out and "→" in out  # the explanation of an if


def test_without_as_of_the_latest_session_is_traded(state_dir):
    report = alchemiser_json("run", "--state-dir", str(state_dir))
    assert report["status"] == "completed"
    as_of = datetime.fromisoformat(report["as_of"]).astimezone(NEW_YORK)
    assert (as_of.hour, as_of.minute) == (9, 35) and as_of.weekday() < 5


def test_a_week_of_days_evolves_one_simulated_account(state_dir):
    statuses, counts = [], []
    for day in (17, 18, 19, 20, 23, 24, 25, 26):
        result = run_day(DayOptions(state_dir, datetime(2026, 11, day, 9, 35, tzinfo=NEW_YORK)))
        statuses.append(result.status)
        counts.append(len(broker_orders(state_dir)))
    assert statuses == ["completed"] * 7 + ["skipped"]
    assert counts == sorted(counts) and counts[-1] > counts[0]  # the account keeps its history
    sells = [o for o in broker_orders(state_dir) if o.side == "sell"]
    assert sells, "later days rebalance what earlier days bought"
