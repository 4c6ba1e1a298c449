"""Seeded random fault scenarios (bench/fault_execution.py): duplicate and concurrent deliveries,
crashes after a submission, lost POST replies and timeouts, 429 storms, partial fills, rejections —
mixed, against the fake Alpaca server (through alpaca-py) and the simulated broker. At the broker:
duplicated = 0 and lost = 0, and the final TradeExecuted agrees with it."""

from __future__ import annotations

import logging

import pytest

from bench.fault_execution import generate, run, run_scenario

SCENARIOS = 100
SEED = 20261125


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def test_randomized_faults_never_duplicate_or_lose_an_order():
    figures = run(SCENARIOS, SEED)
    totals = figures.totals
    print("\n" + figures.table())
    assert figures.failures == []
    assert (totals.duplicated, totals.lost, totals.misreported, totals.unfinished) == (0, 0, 0, 0)
    # the mix really exercised every fault, through both brokers
    assert figures.alpaca >= SCENARIOS // 3 and figures.sim >= SCENARIOS // 5
    for kind in ("crash", "concurrent", "duplicate", "post fault", "429 storm", "partial fill", "rejection"):
        assert figures.kinds.get(kind, 0) >= 5, (kind, figures.kinds)
    assert totals.crashes >= 10 and totals.duplicate_deliveries >= 20
    assert totals.at_broker == totals.planned - totals.refused  # each planned order once, the refused ones never


def test_scenarios_are_reproducible_from_their_seed():
    assert generate(SEED, 7) == generate(SEED, 7)
    assert generate(SEED, 7) != generate(SEED, 8)


def test_the_checker_catches_a_duplicated_order(monkeypatch):
    """The invariant check must be able to fail: place a planned order a second time behind the service's back."""
    from dataclasses import replace

    from bench.fault_execution import Scenario
    from tests.unit.execution.support import FaultyBroker, buy

    original_submit = FaultyBroker.submit_order

    def submit_twice(self, request):
        order = original_submit(self, request)
        self.inner.submit_order(replace(request, client_order_id=request.client_order_id + "-twin"))
        return order

    monkeypatch.setattr(FaultyBroker, "submit_order", submit_twice)
    scenario = Scenario(0, "sim", {}, [buy("TLT", notional="1000")], crash_points={0: 99})  # via a FaultyBroker
    outcome = run_scenario(scenario)
    assert outcome.duplicated == 1 and "unexpected orders" in outcome.problems[0]


def test_the_checker_catches_a_lost_order(monkeypatch):
    from decimal import Decimal

    from bench.fault_execution import Scenario
    from shared.broker.port import Order
    from tests.unit.execution.support import FaultyBroker, buy

    def never_submit(self, request):  # claims the order filled, places nothing
        return Order("fake-id", request.client_order_id, request.symbol, request.side, request.qty, request.notional,
                     Decimal("5"), Decimal("200"), "filled")

    monkeypatch.setattr(FaultyBroker, "submit_order", never_submit)
    scenario = Scenario(0, "sim", {}, [buy("TLT", notional="1000")], crash_points={0: 99})
    outcome = run_scenario(scenario)
    assert outcome.lost == 1 and "lost (reported filled)" in outcome.problems[0]
