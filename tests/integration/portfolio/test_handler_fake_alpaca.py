"""The portfolio handler against the fake Alpaca server, through the real alpaca-py client."""

from __future__ import annotations

import contextlib
import copy
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.portfolio.handler import lambda_handler as _lambda_handler
from shared.broker.port import BrokerError
from shared.events.rebalance_planned import RebalancePlanned
from tests.conftest import LambdaContextStub
from tests.fakes.facts import record_published
from tests.fakes.fake_alpaca import FakeAlpaca
from tests.fakes.system_positions import FAKE_ALPACA_ACCOUNT, bought_by_system
from tests.integration.portfolio.conftest import published
from tests.unit.portfolio.support import signal

D = Decimal

def lambda_handler(event: Any, context: Any) -> Any:
    """The handler, given a signal the strategy recorded as published (tests/fakes/facts.py)."""
    with contextlib.suppress(ValidationError, KeyError):  # bad input: the handler refuses it anyway
        record_published(event)
    return _lambda_handler(event, context)



@pytest.fixture
def alpaca_env(local_env, fake_alpaca: FakeAlpaca, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ALCHEMISER_BROKER", "alpaca")
    monkeypatch.setenv("ALCHEMISER_ALPACA_TRADING_URL", fake_alpaca.url)
    monkeypatch.setenv("ALCHEMISER_ALPACA_DATA_URL", fake_alpaca.url)
    monkeypatch.setenv("ALCHEMISER_ALPACA_API_KEY", fake_alpaca.api_key)
    monkeypatch.setenv("ALCHEMISER_ALPACA_SECRET_KEY", "fake-secret")
    return local_env


def envelope(targets: dict[str, str]) -> dict[str, Any]:
    """A SignalGenerated as the SignalGeneratedRule delivers it, produced a minute ago."""
    sig = signal(targets, event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC) - timedelta(minutes=1))
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "SignalGenerated",
            "source": "alchemiser.strategy", "account": "123456789012", "time": sig.occurred_at.isoformat(),
            "region": "us-east-1", "resources": [], "detail": sig.model_dump(mode="json")}


def test_the_plan_is_computed_from_the_alpaca_account_positions_assets_and_prices(alpaca_env, fake_alpaca):
    # equity 21000 = cash 10000 + SPY 10 x 500 + TQQQ 100 x 60; deployable 20790
    fake_alpaca.set_account(cash="10000")
    fake_alpaca.set_position("SPY", "10")
    fake_alpaca.set_position("TQQQ", "100")
    bought_by_system(alpaca_env, FAKE_ALPACA_ACCOUNT, {"SPY": 10, "TQQQ": 100})
    fake_alpaca.add_asset("BRK.B", fractionable=False)
    fake_alpaca.set_price("BRK.B", "400")
    response = lambda_handler(envelope({"TQQQ": "0.4", "BRK.B": "0.3", "GLD": "0.3"}), LambdaContextStub())
    assert response["status"] == "success", response
    [detail] = published(alpaca_env, "RebalancePlanned")
    plan = RebalancePlanned.model_validate(detail)
    assert (plan.account.equity, plan.account.cash) == (D(21000), D(10000))
    assert {p.symbol: p.qty for p in plan.account.positions} == {"SPY": D(10), "TQQQ": D(100)}
    orders = [(o.side, o.symbol, o.qty, o.notional, o.full_exit, o.fractionable) for o in plan.orders]
    assert orders == [
        ("sell", "SPY", D(10), None, True, True),               # no target: the whole position
        ("buy", "BRK.B", D(15), None, False, False),            # 6237 / 400 = 15.59 -> 15 whole shares
        ("buy", "GLD", None, D("6237.00"), False, True),        # 0.3 x 20790
        ("buy", "TQQQ", None, D("2316.00"), False, True),       # 0.4 x 20790 - 6000
    ]
    assert next(o for o in plan.orders if o.symbol == "GLD").reference_price == D(190)
    assert plan.scaling is None


def test_a_blocked_alpaca_account_fails_closed_and_a_redelivery_publishes_nothing(alpaca_env, fake_alpaca):
    fake_alpaca.set_account(trading_blocked=True)
    event = envelope({"SPY": "1"})
    first = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    again = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    assert (first["status"], first["error_type"], again["status"]) == ("failed", "AccountBlocked", "duplicate")
    assert [d["error_type"] for d in published(alpaca_env)] == ["AccountBlocked"]
    assert fake_alpaca.order_posts() == 0


def test_a_symbol_alpaca_does_not_know_fails_closed(alpaca_env, fake_alpaca):
    response = lambda_handler(envelope({"SPY": "0.5", "NOPE": "0.5"}), LambdaContextStub())
    assert response["error_type"] == "UnknownSymbol"
    [failed] = published(alpaca_env)
    assert failed["details"] == {"symbols": "NOPE"}


def test_a_broker_error_raises_for_a_retry_that_then_plans_once(alpaca_env, fake_alpaca):
    fake_alpaca.script_next("GET /v2/account", status=403)
    event = envelope({"SPY": "1"})
    with pytest.raises(BrokerError):
        lambda_handler(copy.deepcopy(event), LambdaContextStub())
    assert published(alpaca_env) == []
    assert lambda_handler(copy.deepcopy(event), LambdaContextStub())["status"] == "success"
    assert lambda_handler(copy.deepcopy(event), LambdaContextStub())["status"] == "duplicate"
    assert [d["plan_id"] for d in published(alpaca_env)] == [published(alpaca_env)[0]["plan_id"]]


def test_the_portfolio_never_places_an_order(alpaca_env, fake_alpaca):
    lambda_handler(envelope({"SPY": "1"}), LambdaContextStub())
    assert fake_alpaca.order_posts() == 0
    assert {r.method for r in fake_alpaca.requests} == {"GET"}
