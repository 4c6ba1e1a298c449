"""The Lambda entry point end to end: envelope middleware, settings from the environment, the real
AlpacaBroker against the fake server, the embedded stores and the local outbox."""

from __future__ import annotations

import json

import pytest

from services.execution import handler
from shared.events.publisher import outbox_path
from tests.conftest import LambdaContextStub
from tests.fakes.execution_support import buy, envelope, make_plan, sell
from tests.fakes.facts import record_published
from tests.fakes.fake_alpaca import FakeAlpaca
from tests.integration.execution.conftest import today_ny


@pytest.fixture
def env(monkeypatch, local_env, fake_alpaca: FakeAlpaca):
    for name, value in {"ALCHEMISER_BROKER": "alpaca", "ALCHEMISER_ALPACA_API_KEY": fake_alpaca.api_key,
                        "ALCHEMISER_ALPACA_SECRET_KEY": "fake-secret", "ALCHEMISER_ALPACA_TRADING_URL": fake_alpaca.url,
                        "ALCHEMISER_ALPACA_DATA_URL": fake_alpaca.url, "ALCHEMISER_FILL_WAIT_SECONDS": "5",
                        "ALCHEMISER_POLL_INTERVAL_SECONDS": "0.05"}.items():
        monkeypatch.setenv(name, value)
    fake_alpaca.set_position("SPY", "10")
    return local_env


def test_the_handler_places_a_plan_at_alpaca_and_writes_trade_executed_to_the_outbox(env, fake_alpaca):
    plan = record_published(make_plan([sell("SPY", "10"), buy("TLT", notional="1000")], trading_date=today_ny()))
    context = LambdaContextStub()
    response = handler.lambda_handler(envelope(plan), context)
    assert response["status"] == "success" and response["published"] == ["TradeExecuted"]
    [entry] = [json.loads(line) for line in outbox_path(env, context.aws_request_id).read_text().splitlines()]
    assert (entry["Source"], entry["DetailType"]) == ("alchemiser.execution", "TradeExecuted")
    detail = json.loads(entry["Detail"])
    assert detail["plan_id"] == plan.plan_id and detail["status"] == "executed"
    assert [len(fake_alpaca.orders_with_client_id(r["client_order_id"])) for r in detail["orders"]] == [1, 1]

    replay = handler.lambda_handler(envelope(plan, replay="console-replay"), LambdaContextStub())
    assert replay["status"] == "duplicate" and fake_alpaca.order_posts() == 2


def test_a_direct_payload_is_refused_by_the_middleware(env):
    from shared.events.envelope import InvalidEventError

    with pytest.raises(InvalidEventError, match="takes EventBridge events"):
        handler.lambda_handler({"mode": "trade"}, LambdaContextStub())
