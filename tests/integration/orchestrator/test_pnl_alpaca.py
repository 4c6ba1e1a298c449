"""The P&L report from Alpaca's portfolio history: the real alpaca-py client against the fake server."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws

from services.orchestrator.adapters.alpaca_portfolio_history import AlpacaPortfolioHistory
from services.orchestrator.dependencies import clear_cache
from services.orchestrator.pnl import PnlUnavailable
from services.orchestrator.workflow_record import EquitySnapshot
from shared.venues.alpaca.keys import AlpacaKeys, clear_credentials_cache
from tests.fakes.aws_from_template import create_table
from tests.fakes.fake_alpaca import FakeAlpaca

NY = ZoneInfo("America/New_York")
DAYS = [date(2026, 11, d) for d in (19, 20, 23, 24, 25)]


def midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=NY).timestamp())


def set_history(fake: FakeAlpaca, equity: list[float | None]) -> None:
    fake.set_portfolio_history(timestamp=[midnight(d) for d in DAYS], equity=equity,
                               profit_loss=[0.0] * len(DAYS), profit_loss_pct=[0.0] * len(DAYS),
                               base_value=100000.0, timeframe="1D")


def history_for(fake: FakeAlpaca, **options) -> AlpacaPortfolioHistory:
    return AlpacaPortfolioHistory(AlpacaKeys(fake.api_key, "fake-secret", paper=True), trading_url=fake.url,
                                  **options)


def test_daily_equity_comes_from_alpacas_history_in_new_york_dates(fake_alpaca):
    set_history(fake_alpaca, [0.0, 100000.0, None, 100500.25, 101300.0])
    points = history_for(fake_alpaca).daily_equity(period="1M", end=date(2026, 11, 25))
    assert [(p.day, p.equity) for p in points] == [
        (date(2026, 11, 20), Decimal("100000.0")), (date(2026, 11, 24), Decimal("100500.25")),
        (date(2026, 11, 25), Decimal("101300.0"))]  # 0 (not yet funded) and None are left out
    (request,) = fake_alpaca.requests_to("GET /v2/account/portfolio/history")
    assert request.query["period"] == "1M" and request.query["timeframe"] == "1D"


def test_an_unreachable_history_is_pnl_unavailable(fake_alpaca):
    fake_alpaca.script_next("GET /v2/account/portfolio/history", status=500, times=5)
    history = history_for(fake_alpaca, read_attempts=2, backoff_base=0.0, sleep=lambda _: None)
    with pytest.raises(PnlUnavailable, match="Alpaca portfolio history unavailable"):
        history.daily_equity(period="1M", end=date(2026, 11, 25))


def test_the_lambda_pnl_report_reads_alpaca_with_keys_from_secrets_manager_and_cross_checks(
        fake_alpaca, monkeypatch, lambda_context):
    set_history(fake_alpaca, [99000.0, 100000.0, 100200.0, 100500.0, 101300.0])
    clear_cache()
    clear_credentials_cache()
    try:
        with mock_aws():
            table = create_table("WorkflowTable")
            boto3.client("secretsmanager").create_secret(
                Name="alchemiser/alpaca", SecretString=json.dumps({"api_key": fake_alpaca.api_key,
                                                                   "secret_key": "fake-secret"}))
            from services.orchestrator.adapters.dynamodb_workflow_store import DynamoDBWorkflowStore

            store = DynamoDBWorkflowStore(table)
            for day, equity in ((date(2026, 11, 24), "100480"), (date(2026, 11, 25), "95000")):
                store.put_snapshot(EquitySnapshot(trading_mode="paper", trading_date=day, correlation_id=f"run-{day}",
                                                  recorded_at=datetime(2026, 11, 25, 15, tzinfo=NY),
                                                  equity_after=Decimal(equity)))
            for name, value in {"ALCHEMISER_WORKFLOW_TABLE": table, "ALCHEMISER_NOTIFICATION_TOPIC_ARN": "arn:x",
                                "ALCHEMISER_IDEMPOTENCY_TABLE": "alchemiser-idempotency-dev",
                                "ALCHEMISER_ALPACA_SECRET_NAME": "alchemiser/alpaca",
                                "ALCHEMISER_ALPACA_TRADING_URL": fake_alpaca.url,
                                "ALCHEMISER_AS_OF": "2026-11-25T17:00:00-05:00"}.items():
                monkeypatch.setenv(name, value)
            from services.orchestrator.handler import lambda_handler

            response = lambda_handler({"action": "pnl_analysis", "pnl_period": "1W", "pnl_type": "weekly",
                                       "pnl_detailed": True}, lambda_context)
    finally:
        clear_cache()
        clear_credentials_cache()
    assert response["status"] == "success", response["message"]
    report = response["report"]
    assert (report["source"], report["start_equity"], report["end_equity"], report["pnl"]) == (
        "alpaca", "99000.0", "101300.0", "2300.0")
    assert [b["label"] for b in report["buckets"]] == ["2026-W47", "2026-W48"]
    assert report["cross_check"]["days_compared"] == 2
    assert [m["date"] for m in report["cross_check"]["mismatches"]] == ["2026-11-25"]
    assert "MISMATCH 2026-11-25: Alpaca $101,300.00, ours $95,000.00" in response["text"]
    assert "Per day" in response["text"]


def test_the_lambda_pnl_report_without_a_secret_fails_with_the_reason(monkeypatch, lambda_context):
    clear_cache()
    clear_credentials_cache()
    try:
        with mock_aws():
            table = create_table("WorkflowTable")
            for name, value in {"ALCHEMISER_WORKFLOW_TABLE": table, "ALCHEMISER_NOTIFICATION_TOPIC_ARN": "arn:x",
                                "ALCHEMISER_IDEMPOTENCY_TABLE": "alchemiser-idempotency-dev",
                                "ALCHEMISER_ALPACA_SECRET_NAME": "alchemiser/missing"}.items():
                monkeypatch.setenv(name, value)
            from services.orchestrator.handler import lambda_handler

            response = lambda_handler({"action": "pnl_analysis"}, lambda_context)
    finally:
        clear_cache()
        clear_credentials_cache()
    assert response["status"] == "failed"
    assert "cannot read secret 'alchemiser/missing'" in response["message"]
