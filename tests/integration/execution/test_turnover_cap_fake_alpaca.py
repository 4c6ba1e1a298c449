"""The daily turnover cap follows what reached the broker (issue 24, item 1), through alpaca-py against the fake.

Attempts whose every POST the broker answered 500 traded nothing, so they leave nothing reserved: a healthy
`--retry` of the day (a new workflow) still trades, and on an account holding other positions one failed
attempt no longer blocks the next."""

from __future__ import annotations

from decimal import Decimal

from shared.limits.model import Limits
from tests.fakes.execution_support import buy, sell
from tests.integration.execution.conftest import Harness

D = Decimal
LIMITS = Limits(max_order_equity_fraction=D("1"), max_position_weight=D("1"))
ALL_WEEK = 10_000


def attempt(h: Harness, n: int, orders) -> dict:
    suffix = "" if n == 0 else f"-retry-{n}"
    plan = h.plan(orders, plan_id=f"plan-day{suffix}", correlation_id=f"run-day{suffix}")
    return h.deliver(plan)


def test_failed_attempts_then_a_healthy_retry_trades(harness: Harness):
    h = harness
    h.limits = LIMITS
    orders = [buy("TLT", notional="49000"), buy("GLD", notional="49000")]  # 0.98 x equity; the cap is 2.10 x
    h.fake.script_next("POST /v2/orders", status=500, times=ALL_WEEK)
    for n in range(3):
        response = attempt(h, n, orders)
        assert response["execution_status"] == "failed", response
    assert h.fake.orders == []  # nothing ever reached the broker
    h.fake._scripts.clear()  # the broker is healthy again
    healthy = attempt(h, 3, orders)
    assert healthy["execution_status"] == "executed", healthy["message"]
    assert len(h.fake.orders) == 2


def test_on_an_account_with_other_positions_one_failed_attempt_does_not_block_the_next(harness: Harness):
    h = harness
    h.limits = LIMITS
    h.fake.set_position("AAPL", "494", avg_entry_price="190")  # $93,860 of other positions
    orders = [sell("AAPL", "494"), buy("TLT", notional="95000"), buy("GLD", notional="95000")]
    h.fake.script_next("POST /v2/orders", status=500, times=ALL_WEEK)
    assert attempt(h, 0, orders)["execution_status"] == "failed"
    h.fake._scripts.clear()
    retried = attempt(h, 1, orders)
    assert retried["execution_status"] in ("executed", "partial"), retried["message"]
    assert len(h.fake.orders) == 3
