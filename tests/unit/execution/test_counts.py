"""Counts that add up (issue 24, item 7): placed now, adopted and at the broker, separately, for any broker.

Two twin runs of one workflow (two stores, one account) must not both report the broker's orders as
placed; a resumed run reports what it placed and what an earlier run had placed."""

from __future__ import annotations

import contextlib

from services.execution import app
from tests.fakes.execution_support import (
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

ORDERS = [buy(s, notional="1000") for s in ("TLT", "GLD", "SPY", "QQQ", "BIL")]


def deliver(plan, deps, *, ctx=None):
    record_plan(deps, plan)
    return app.handle(incoming(plan), deps, context=ctx or Context())


def totals(deps):
    return published(deps)[-1].totals


def test_twin_runs_of_one_workflow_report_the_brokers_orders_once_between_them(tmp_path):
    broker = sim_broker(tmp_path / "sim")
    first, twin = make_deps(broker, tmp_path / "a"), make_deps(broker, tmp_path / "b")
    deliver(make_plan(ORDERS, plan_id="plan-a"), first)
    deliver(make_plan(ORDERS, plan_id="plan-b"), twin)  # another stack's plan for the same workflow
    at_broker = len([o for o in broker.list_orders()])
    a, b = totals(first), totals(twin)
    assert at_broker == 5
    assert (a.orders_placed_now, a.orders_adopted, a.orders_at_broker) == (5, 0, 5)
    assert (b.orders_placed_now, b.orders_adopted, b.orders_at_broker) == (0, 5, 5)
    assert a.orders_placed_now + b.orders_placed_now == at_broker


def test_a_resumed_run_reports_what_it_placed_and_what_it_adopted(tmp_path):
    broker = sim_broker(tmp_path / "sim")
    plan = make_plan(ORDERS)
    dying = make_deps(FaultyBroker(broker, crash_after_submissions=1), tmp_path)
    with contextlib.suppress(Crash):
        deliver(plan, dying, ctx=Context(remaining_ms=0))
    deps = make_deps(broker, tmp_path)
    deliver(plan, deps)  # the retry resumes the claimed workflow
    t = totals(deps)
    assert (t.orders_placed_now, t.orders_adopted, t.orders_at_broker) == (4, 1, 5)
