"""The use case: one RebalancePlanned per signal, or one WorkflowFailed with the reason; never both.

Fakes throughout: a broker reader over plain values, the in-memory publisher, the embedded
idempotency store in a temporary state directory.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from services.portfolio import app
from services.portfolio.dependencies import build
from services.portfolio.planner import OrderLine
from services.portfolio.settings import PortfolioSettings
from shared.broker.port import Asset, BrokerUnavailable
from shared.events.envelope import Delivery
from shared.events.middleware import Incoming
from shared.events.publisher import EventTooLargeError, PublishError, RecordingPublisher
from shared.events.rebalance_planned import RebalancePlanned
from shared.events.workflow_failed import WorkflowFailed
from shared.runtime import metric_names
from shared.runtime.published_facts import event_digest
from tests.conftest import LambdaContextStub
from tests.fakes.in_memory import InMemoryPublisher
from tests.unit.portfolio.support import (
    SIGNAL_AT,
    FakeBroker,
    RecordingMetrics,
    position,
    signal,
)

D = Decimal
SAMPLE_TARGETS = {"TQQQ": "0.5", "TLT": "0.25", "GLD": "0.25"}
SAMPLE_STRATEGIES = [
    ("trend-switcher", "0.5", {"TQQQ": "1"}, "0.05"),
    ("risk-parity", "0.5", {"TLT": "0.5", "GLD": "0.5"}, None),
]


class World:
    """The app wired to fakes; `deliver` hands it one signal like a Lambda invocation."""

    def __init__(self, state_dir, broker: FakeBroker | None = None, **settings) -> None:
        self.settings = PortfolioSettings(backend="local", state_dir=state_dir, **settings)
        self.broker = broker or FakeBroker()
        self.publisher = InMemoryPublisher(source="alchemiser.portfolio")
        self.metrics = RecordingMetrics()
        built = build(self.settings)  # its publishers record what they publish; so does this one
        self.deps = dataclasses.replace(built, broker=self.broker, publisher_for=lambda _request_id: RecordingPublisher(
            self.publisher, built.facts, "portfolio", "alchemiser.portfolio"))

    def deliver(self, event=None, *, published_by_strategy: bool = True):
        event = event if event is not None else signal(strategies=SAMPLE_STRATEGIES)
        if published_by_strategy:  # what the strategy records when it publishes the signal
            self.deps.facts.record("strategy", event.correlation_id, event.event_id, event_digest(event))
        incoming = Incoming(Delivery(kind="event", detail={}), event=event)
        return app.handle(incoming, self.deps, context=LambdaContextStub(), metrics=self.metrics)

    @property
    def published(self):
        return [e.detail_type for e in self.publisher.events]


@pytest.fixture
def world(state_dir):
    return World(state_dir)


# ------------------------------------------------------------------------------ success


def test_a_signal_is_planned_and_published_as_one_rebalance_planned(world):
    response = world.deliver()
    assert response["status"] == "success"
    assert response["published"] == ["RebalancePlanned"] == world.published
    event = world.publisher.events[0]
    assert isinstance(event, RebalancePlanned)
    assert response["plan_id"] == event.plan_id and response["orders"] == 3
    assert {o.symbol: o.notional for o in event.orders} == {"GLD": D("24750.00"), "TLT": D("24750.00"),
                                                            "TQQQ": D("49500.00")}


def test_the_plan_carries_the_signal_the_snapshot_the_weights_and_the_parameters(state_dir):
    broker = FakeBroker(cash="40000", positions=[position("TQQQ", "1000", "60")])
    world = World(state_dir, broker=broker)
    sig = signal(strategies=SAMPLE_STRATEGIES)
    world.deliver(sig)
    event = world.publisher.events[0]
    assert (event.signal_event_id, event.causation_id, event.correlation_id) == (
        sig.event_id, sig.event_id, sig.correlation_id)
    assert event.hop_count == sig.hop_count + 1 and event.trading_date == sig.trading_date
    assert (event.account.equity, event.account.cash, event.account.buying_power) == (D(100000), D(40000), D(40000))
    assert [(p.symbol, p.qty, p.market_value, p.price) for p in event.account.positions] == [
        ("TQQQ", D(1000), D("60000.00"), D(60))]
    assert event.account.captured_at == broker.account.captured_at
    assert event.target_weights == {s: D(w) for s, w in SAMPLE_TARGETS.items()}
    assert event.current_weights == {"TQQQ": D("0.6")}
    assert (event.parameters.cash_reserve, event.parameters.min_trade_value, event.parameters.drift_band) == (
        D("0.01"), D(10), D("0.01"))
    tqqq = next(o for o in event.orders if o.symbol == "TQQQ")
    # 0.5 x 99000 = 49500 - 60000 = -10500 -> 175 shares at 60
    assert (tqqq.side, tqqq.qty, tqqq.attribution) == ("sell", D(175), {"trend-switcher": D("-10500.00")})
    assert [o.side for o in event.orders] == ["sell", "buy", "buy"]


def test_the_rebalance_planned_event_round_trips_through_json(world):
    world.deliver()
    event = world.publisher.events[0]
    assert RebalancePlanned.model_validate_json(event.model_dump_json()) == event


def test_an_already_balanced_account_is_a_success_with_an_empty_plan(state_dir):
    broker = FakeBroker(cash="0", positions=[position("SPY", "200", "500")])
    world = World(state_dir, broker=broker, cash_reserve=D(0))
    response = world.deliver(signal({"SPY": "1"}))
    assert response["status"] == "success" and response["orders"] == 0
    event = world.publisher.events[0]
    assert event.orders == () and event.summary.startswith("already balanced")


def test_a_plan_counts_plans_created_and_planned_orders(world):
    world.deliver()
    assert world.metrics.values(metric_names.PLANS_CREATED) == [1]
    assert world.metrics.values(metric_names.PLANNED_ORDERS) == [3]


def test_the_same_signal_and_account_give_the_same_plan_id_in_another_state_dir(tmp_path):
    first, second = World(tmp_path / "a"), World(tmp_path / "b")
    assert first.deliver()["plan_id"] == second.deliver()["plan_id"]
    assert first.publisher.events[0].event_id == second.publisher.events[0].event_id


# ------------------------------------------------------------------------------ duplicates


def test_a_signal_delivered_twice_gives_one_rebalance_planned(world):
    first = world.deliver()
    again = world.deliver()
    assert world.published == ["RebalancePlanned"]
    assert again["status"] == "duplicate" and again["published"] == []
    assert again["plan_id"] == first["plan_id"] and again["first_status"] == "success"
    assert world.metrics.values(metric_names.DUPLICATES_SUPPRESSED) == [1]
    assert world.metrics.values(metric_names.PLANS_CREATED) == [1]


def test_a_duplicate_does_not_read_the_broker(world):
    world.deliver()
    reads = len(world.broker.calls)
    world.deliver()
    assert len(world.broker.calls) == reads


def test_a_new_container_still_sees_the_signal_as_handled(state_dir):
    World(state_dir).deliver()
    later = World(state_dir)
    assert later.deliver()["status"] == "duplicate"
    assert later.published == []


def test_a_different_signal_is_planned_separately(world):
    world.deliver()
    world.deliver(signal(strategies=SAMPLE_STRATEGIES, event_id="another-signal"))
    assert world.published == ["RebalancePlanned", "RebalancePlanned"]


# ------------------------------------------------------------------------------ fail closed


def _negative_weight():
    return signal({"TQQQ": "1.5", "TLT": "-0.5"}, strategies=[("a", "1", {"TQQQ": "1.5", "TLT": "-0.5"}, None)],
                  construct=True)


FAIL_CLOSED_CASES = {
    "negative weight": (_negative_weight, {}, "InvalidWeights"),
    "weights not summing to one": (lambda: signal({"TQQQ": "0.5", "TLT": "0.4"}), {}, "WeightsDoNotSumToOne"),
    "strategies not adding up": (lambda: signal({"TQQQ": "0.5", "TLT": "0.5"},
                                                strategies=[("a", "1", {"TQQQ": "1"}, None)]), {},
                                 "AttributionMismatch"),
    "unknown symbol": (lambda: signal({"TQQQ": "0.5", "NOPE": "0.5"}), {}, "UnknownSymbol"),
    "account blocked": (lambda: signal({"TQQQ": "1"}), {"account_blocked": True}, "AccountBlocked"),
    "trading blocked": (lambda: signal({"TQQQ": "1"}), {"trading_blocked": True}, "AccountBlocked"),
    "zero equity": (lambda: signal({"TQQQ": "1"}), {"cash": "0"}, "NoEquity"),
    "snapshot older than the signal": (lambda: signal({"TQQQ": "1"}),
                                       {"captured_at": SIGNAL_AT - timedelta(seconds=1)}, "StaleSnapshot"),
    "short position": (lambda: signal({"TQQQ": "1"}), {"positions": [position("SPY", "-5", "500")]},
                       "ShortPosition"),
    "missing price": (lambda: signal({"TQQQ": "0.5", "AAPL": "0.5"}),
                      {"assets": {"TQQQ": Asset("TQQQ", True, True), "AAPL": Asset("AAPL", True, True)}},
                      "MissingPrice"),
    "untradable target": (lambda: signal({"TQQQ": "1"}), {"assets": {"TQQQ": Asset("TQQQ", False, True)}},
                          "NotTradable"),
}


@pytest.mark.parametrize("case", FAIL_CLOSED_CASES, ids=str)
def test_each_validation_failure_publishes_one_workflow_failed_and_nothing_else(state_dir, case):
    make_signal, broker_state, error_type = FAIL_CLOSED_CASES[case]
    world = World(state_dir, broker=FakeBroker(**broker_state))
    sig = make_signal()
    response = world.deliver(sig)
    assert response["status"] == "failed" and response["error_type"] == error_type
    assert response["published"] == ["WorkflowFailed"] == world.published
    failed = world.publisher.events[0]
    assert isinstance(failed, WorkflowFailed)
    assert (failed.step, failed.error_type, failed.failed_event_id) == ("portfolio", error_type, sig.event_id)
    assert failed.reason and failed.reason in response["message"]
    assert failed.causation_id == sig.event_id and failed.correlation_id == sig.correlation_id
    assert world.metrics.values(metric_names.PLANS_CREATED) == []


@pytest.mark.parametrize("case", ["weights not summing to one", "account blocked"])
def test_a_failed_signal_delivered_again_is_a_duplicate_that_publishes_nothing(state_dir, case):
    make_signal, broker_state, _ = FAIL_CLOSED_CASES[case]
    world = World(state_dir, broker=FakeBroker(**broker_state))
    world.deliver(make_signal())
    again = world.deliver(make_signal())
    assert again["status"] == "duplicate" and again["first_status"] == "failed"
    assert world.published == ["WorkflowFailed"]


def test_signal_checks_fail_before_the_broker_is_read(state_dir):
    world = World(state_dir)
    world.deliver(signal({"TQQQ": "0.5", "TLT": "0.4"}))
    assert world.broker.calls == []


def test_a_plan_that_breaks_a_safety_rule_fails_closed(world, monkeypatch):
    from services.portfolio import day

    real_plan = day.plan

    def overselling(inputs, **kwargs):
        result = real_plan(inputs, **kwargs)
        rogue = OrderLine("SPY", "sell", D(1), None, D(500), D(500), {"x": D(-500)}, "rogue", False, True)
        return dataclasses.replace(result, orders=(rogue, *result.orders))

    monkeypatch.setattr(day, "plan", overselling)
    response = world.deliver()
    assert response["error_type"] == "PlanCheckFailed"
    assert world.published == ["WorkflowFailed"]


def test_a_plan_too_large_for_one_event_fails_closed(world, monkeypatch):
    class TooLarge(InMemoryPublisher):
        def publish(self, events):
            if events[0].detail_type == "RebalancePlanned":
                raise EventTooLargeError("not published (nothing was sent)", [])
            return super().publish(events)

    world.publisher = TooLarge(source="alchemiser.portfolio")
    response = world.deliver()
    assert response["error_type"] == "PlanTooLarge"
    assert world.published == ["WorkflowFailed"]


# ------------------------------------------------------------------------------ infrastructure errors


def test_a_broker_outage_raises_so_lambda_retries_and_the_retry_plans_once(world):
    world.broker.fail_with = BrokerUnavailable("GET account: 503")
    with pytest.raises(BrokerUnavailable):
        world.deliver()
    assert world.published == []
    world.broker.fail_with = None
    assert world.deliver()["status"] == "success"
    assert world.published == ["RebalancePlanned"]


def test_a_failed_publish_raises_so_lambda_retries_and_the_retry_publishes_once(world):
    world.publisher.fail_with = PublishError("not delivered after 4 attempts", [])
    with pytest.raises(PublishError):
        world.deliver()
    world.publisher.fail_with = None
    assert world.deliver()["status"] == "success"
    assert world.deliver()["status"] == "duplicate"
    assert world.published == ["RebalancePlanned"]


def test_anything_but_a_signal_is_refused(world):
    with pytest.raises(TypeError):
        app.handle(Incoming(Delivery(kind="event", detail={})), world.deps, context=LambdaContextStub())


# ------------------------------------------------------------------------------ causation (recorded facts)


def test_a_signal_the_strategy_never_recorded_is_refused_and_nothing_is_planned_or_published(world):
    response = world.deliver(published_by_strategy=False)
    assert response["status"] == "failed" and "refused" in response["message"]
    assert world.published == [] and world.broker.calls == []
    assert world.metrics.values("UnverifiedEvents") == [1]


def test_a_real_signal_id_with_edited_weights_is_refused(world):
    real = signal(strategies=SAMPLE_STRATEGIES)
    world.deps.facts.record("strategy", real.correlation_id, real.event_id, event_digest(real))
    forged = real.model_copy(update={"target_weights": {"TQQQ": D(1)}})
    response = world.deliver(forged, published_by_strategy=False)
    assert response["status"] == "failed" and "differs" in response["message"]
    assert world.published == []


def test_a_resend_of_the_recorded_signal_is_planned_once_and_records_the_plan(world):
    real = signal(strategies=SAMPLE_STRATEGIES)
    world.deps.facts.record("strategy", real.correlation_id, real.event_id, event_digest(real))
    first = world.deliver(real, published_by_strategy=False)
    again = world.deliver(real.model_validate_json(real.model_dump_json()), published_by_strategy=False)
    assert (first["status"], again["status"]) == ("success", "duplicate")
    [plan] = world.publisher.events
    assert world.deps.facts.members("portfolio", real.correlation_id) == {f"{plan.event_id}={event_digest(plan)}"}
