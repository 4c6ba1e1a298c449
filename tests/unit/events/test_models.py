"""Event models: frozen, strict, Decimal money as strings, lossless JSON round trips."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events import (
    ROUTES,
    EventContext,
    LambdaEvent,
    PlannedOrder,
    RebalancePlanned,
    SignalGenerated,
    WorkflowFailed,
    deterministic_event_id,
)
from shared.events.envelope import open_envelope
from shared.events.middleware import parse_delivery
from tests.conftest import TEST_EVENTS

SAMPLES = sorted(p for p in TEST_EVENTS.glob("*.json") if json.loads(p.read_text()).get("detail-type") in ROUTES)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_event_round_trips_through_json_unchanged(path):
    envelope = json.loads(path.read_text())
    route = ROUTES[envelope["detail-type"]]
    model = route.model
    event = parse_delivery(open_envelope(envelope), route.consumers[0]).event
    again = model.model_validate_json(event.model_dump_json())
    assert again == event
    assert json.loads(again.model_dump_json()) == json.loads(event.model_dump_json())


def test_every_detail_type_has_a_sample_event():
    sampled = {json.loads(p.read_text())["detail-type"] for p in SAMPLES}
    assert sampled == set(ROUTES)


def test_money_is_serialized_as_exact_strings():
    envelope = json.loads((TEST_EVENTS / "rebalance-planned.json").read_text())
    plan = RebalancePlanned.model_validate(envelope["detail"])
    dumped = json.loads(plan.model_dump_json())
    assert dumped["account"]["equity"] == "100000.00"
    assert isinstance(plan.account.equity, Decimal)
    assert plan.account.equity == Decimal("100000.00")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=Decimal("0.000001"),
                   max_value=Decimal("1e9")))
def test_any_decimal_notional_round_trips_exactly(value):
    order = PlannedOrder(symbol="SPY", side="buy", notional=value, reference_price=Decimal("1"),
                         estimated_value=value, attribution={"s": value}, reason="r")
    again = PlannedOrder.model_validate_json(order.model_dump_json())
    assert again.notional == value and str(again.notional) == str(value)


def test_events_are_frozen():
    event = WorkflowFailed.create(EventContext("c-1", "cause", "paper", 1), step="portfolio", reason="r",
                                  error_type="E")
    with pytest.raises(ValidationError):
        event.reason = "changed"  # type: ignore[misc]


def test_unknown_field_is_rejected_with_its_name():
    envelope = json.loads((TEST_EVENTS / "signal-generated.json").read_text())
    envelope["detail"]["target_weight"] = {}
    with pytest.raises(ValidationError, match="target_weight"):
        SignalGenerated.model_validate(envelope["detail"])


def test_non_finite_weights_are_schema_errors_but_out_of_range_ones_reach_the_consumer():
    # Range is a business rule (the portfolio fails the workflow closed with a reason); a value
    # that is not a number at all is bad input.
    envelope = json.loads((TEST_EVENTS / "signal-generated.json").read_text())
    for bad in ("NaN", "Infinity", "abc"):
        envelope["detail"]["target_weights"] = {"SPY": bad}
        with pytest.raises(ValidationError):
            SignalGenerated.model_validate(envelope["detail"])
    envelope["detail"]["target_weights"] = {"SPY": "-0.1", "QQQ": "1.1"}
    assert SignalGenerated.model_validate(envelope["detail"]).weight_sum() == Decimal("1.0")


def test_naive_timestamps_are_rejected_and_aware_ones_normalised_to_utc():
    envelope = json.loads((TEST_EVENTS / "workflow-failed.json").read_text())
    detail = dict(envelope["detail"], occurred_at="2026-11-25T09:35:00")
    with pytest.raises(ValidationError, match="occurred_at"):
        WorkflowFailed.model_validate(detail)
    detail["occurred_at"] = "2026-11-25T09:35:00-05:00"
    assert WorkflowFailed.model_validate(detail).occurred_at.isoformat() == "2026-11-25T14:35:00+00:00"


def test_planned_order_needs_exactly_one_of_qty_and_notional():
    base = dict(symbol="SPY", side="buy", reference_price="500", estimated_value="1000", attribution={}, reason="r")
    with pytest.raises(ValidationError, match="exactly one"):
        PlannedOrder(**base, qty="2", notional="1000")
    with pytest.raises(ValidationError, match="exactly one"):
        PlannedOrder(**base)
    with pytest.raises(ValidationError, match="sells are by quantity"):
        PlannedOrder(**{**base, "side": "sell"}, notional="1000")


def test_event_ids_are_deterministic_per_cause():
    ctx = EventContext("run-2026-11-25-paper", "cmd-1", "paper", 1)
    a = WorkflowFailed.create(ctx, step="strategy", reason="r", error_type="E")
    b = WorkflowFailed.create(ctx, step="strategy", reason="other", error_type="E")
    c = WorkflowFailed.create(EventContext("run-2026-11-25-paper", "cmd-2", "paper", 1), step="strategy",
                              reason="r", error_type="E")
    assert a.event_id == b.event_id != c.event_id
    assert a.event_id == deterministic_event_id("WorkflowFailed", "run-2026-11-25-paper", "cmd-1")


def test_caused_by_increments_the_hop_count_and_links_causation():
    ctx = EventContext("corr", "cmd", "live", 1)
    first = WorkflowFailed.create(ctx, step="strategy", reason="r", error_type="E")
    child = EventContext.caused_by(first)
    assert (child.causation_id, child.hop_count, child.trading_mode) == (first.event_id, 2, "live")


def test_lambda_event_rejects_typos_with_the_field_name():
    with pytest.raises(ValidationError, match="mdoe"):
        LambdaEvent.model_validate({"mdoe": "trade"})
    assert LambdaEvent.model_validate({}).mode == "trade"
    with pytest.raises(ValidationError, match="pnl_period"):
        LambdaEvent.model_validate({"action": "pnl_analysis", "pnl_period": "1Y"})
    full = LambdaEvent.model_validate({"mode": "trade", "action": "pnl_analysis", "pnl_type": "weekly",
                                      "pnl_period": "3M", "pnl_periods": 4, "pnl_detailed": True,
                                      "correlation_id": "manual-rerun-1"})
    assert full.pnl_period == "3M" and full.pnl_detailed is True
