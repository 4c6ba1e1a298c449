"""A run killed between its turnover reservation and its settlement (issue 24, item 1; turnover_ledger.py).

Never resumed, it must not lock the day out for good: once its lease has expired, the next run that needs
room settles it from the broker's book. Resumed after that, it must not trade past the cap with the run that
took the room: it reserves anew and, refused, only adopts what exists."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from services.execution import app
from services.execution.sqlite_turnover_ledger import SqliteTurnoverLedger
from services.execution.turnover_ledger import LEASE_SECONDS
from shared.limits.model import Limits
from tests.fakes.execution_support import (
    TODAY,
    Context,
    Crash,
    FaultyBroker,
    buy,
    incoming,
    make_deps,
    make_plan,
    published,
    record_plan,
    sim_broker,
)

D = Decimal
LIMITS = Limits(max_order_equity_fraction=D("1"), max_position_weight=D("1"),
                    max_daily_turnover_equity_fraction=D("1.2"))  # $120,000 a day on $100,000
A = [buy("TLT", notional="40000"), buy("GLD", notional="40000")]  # $80,000: the second leg never placed
B = [buy("SPY", notional="50000")]  # 80,000 + 50,000 > 120,000 while the killed run counts in full


class Wall:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def deps_for(broker, tmp_path, wall):
    deps = make_deps(broker, tmp_path, limits=LIMITS)
    return dataclasses.replace(deps, turnover=SqliteTurnoverLedger(tmp_path / "state.sqlite", wall_clock=wall))


def deliver(plan, deps, ctx=None):
    record_plan(deps, plan)
    return app.handle(incoming(plan), deps, context=ctx or Context())


def killed_after_one_order(broker, tmp_path, wall):
    plan = make_plan(A, plan_id="plan-a", correlation_id="run-a")
    try:
        deliver(plan, deps_for(FaultyBroker(broker, crash_after_submissions=1), tmp_path, wall),
                Context(remaining_ms=0))
    except Crash:
        return plan
    raise AssertionError("the run was not killed")


def test_a_killed_runs_reservation_holds_while_its_lease_is_live(tmp_path):
    broker, wall = sim_broker(tmp_path / "sim"), Wall()
    killed_after_one_order(broker, tmp_path, wall)
    deps = deps_for(broker, tmp_path, wall)
    response = deliver(make_plan(B, plan_id="plan-b", correlation_id="run-b"), deps)
    assert response["execution_status"] == "rejected"
    assert "max_daily_turnover_equity_fraction (120%)" in response["message"]


def test_after_its_lease_a_killed_runs_entry_is_settled_from_the_book_and_the_day_goes_on(tmp_path):
    broker, wall = sim_broker(tmp_path / "sim"), Wall()
    killed_after_one_order(broker, tmp_path, wall)
    wall.now += LEASE_SECONDS + 1
    deps = deps_for(broker, tmp_path, wall)
    response = deliver(make_plan(B, plan_id="plan-b", correlation_id="run-b"), deps)
    assert response["execution_status"] == "executed", response["message"]
    # the killed run counts what it had at the broker (one $40,000 order), no longer its $80,000 plan
    day = deps.turnover.reserve(broker.get_account().account_id, TODAY, "probe", D("0"), D("1"))
    assert day.used_before == D("40000.00") + D("50000.00")


def test_a_killed_run_resumed_after_the_day_moved_on_never_trades_past_the_cap(tmp_path):
    broker, wall = sim_broker(tmp_path / "sim"), Wall()
    plan_a = killed_after_one_order(broker, tmp_path, wall)
    wall.now += LEASE_SECONDS + 1
    deliver(make_plan([buy("SPY", notional="75000")], plan_id="plan-b", correlation_id="run-b"),
            deps_for(broker, tmp_path, wall))  # takes the room: 40,000 + 75,000 <= 120,000
    resumed = deps_for(broker, tmp_path, wall)
    deliver(plan_a, resumed)  # Lambda's retry of the killed run, at last
    report = published(resumed)[-1]
    assert [r.status for r in report.orders] == ["filled", "skipped"]  # adopted TLT; GLD not placed
    assert "max_daily_turnover_equity_fraction (120%)" in (report.reason or "")
    traded = sum((o.filled_qty * o.filled_avg_price for o in broker.list_orders()), D(0))
    assert traded <= D("120000")
