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


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=Decimal("0.01"),
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


def _plan_detail() -> dict:
    return json.loads((TEST_EVENTS / "rebalance-planned.json").read_text())["detail"]


def _with_first_order(**changes) -> dict:
    detail = _plan_detail()
    detail["orders"] = [dict(detail["orders"][0], **changes), *detail["orders"][1:]]
    return detail


@pytest.mark.parametrize("changes,message", [
    ({"qty": "1e-400", "notional": None}, "at most 9 decimal places"),
    ({"qty": "1e100000", "notional": None}, "less than or equal to 1000000000 "),
    ({"qty": "0.0000000001", "notional": None}, "at most 9 decimal places"),
    ({"qty": "0", "notional": None}, "greater than 0"),
    ({"qty": None, "notional": "100.001"}, "at most 2 decimal places"),
    ({"qty": None, "notional": "1e12"}, "less than or equal to 1000000000 "),
    ({"reference_price": "1e-400"}, "at most 9 decimal places"),
    ({"reference_price": "1e9"}, "less than or equal to 10000000 "),
    ({"estimated_value": "1e100000"}, "less than or equal to 1000000000000 "),
    ({"attribution": {"s": "1E-400"}}, "at most 18 decimal places"),
    ({"estimated_value": "0.0000000000000000001"}, "at most 18 decimal places"),
])
def test_quantities_notionals_prices_and_amounts_are_bounded(changes, message):
    detail = _with_first_order(**{k: v for k, v in changes.items()})
    first = detail["orders"][0]
    for key in [k for k, v in first.items() if v is None]:
        del first[key]
    with pytest.raises(ValidationError, match=message):
        RebalancePlanned.model_validate(detail)


def test_largest_legitimate_amounts_still_pass():
    detail = _with_first_order(qty="999999999.123456789", reference_price="600000.0001", estimated_value="-1e11")
    detail["orders"][0].pop("notional", None)
    detail["orders"][0]["side"] = "sell"
    order = RebalancePlanned.model_validate(detail).orders[0]
    assert order.qty == Decimal("999999999.123456789") and order.estimated_value == Decimal("-1E+11")


def test_trade_executed_bounds_its_orders_and_caps_its_text():
    from shared.events import TradeExecuted

    detail = json.loads((TEST_EVENTS / "trade-executed.json").read_text())["detail"]
    bad = dict(detail, orders=[dict(detail["orders"][0], requested_qty="1e100000", requested_notional=None)])
    with pytest.raises(ValidationError, match="requested_qty"):
        TradeExecuted.model_validate(bad)
    long = dict(detail, reason="r" * 1_000_000,
                orders=[dict(detail["orders"][0], error="e" * 1_000_000), *detail["orders"][1:]])
    event = TradeExecuted.model_validate(long)
    assert len(event.reason) == 4000 and event.reason.endswith("…")
    assert len(event.orders[0].error) == 1000
    assert TradeExecuted.model_validate_json(event.model_dump_json()) == event  # capping is stable
    assert len(event.model_dump_json()) < 10_000


def test_failure_texts_and_details_are_capped():
    event = WorkflowFailed.create(EventContext("c", "x", "paper", 1), step="execution", reason="r" * 10_000,
                                  error_type="E" * 5000, details={"k": "v" * 5000})
    assert (len(event.reason), len(event.error_type), len(event.details["k"])) == (4000, 1000, 1000)
    with pytest.raises(ValidationError, match="details"):
        WorkflowFailed.create(EventContext("c", "x", "paper", 1), step="execution", reason="r", error_type="E",
                              details={str(i): "v" for i in range(51)})


@pytest.mark.parametrize("value", ["1.0000001", "1764000000", 1764000000, 1.5, "2026-11-25", "tomorrow",
                                   "2026-11-25T09:35:00"])
def test_datetimes_must_be_iso_8601_with_a_zone(value):
    envelope = json.loads((TEST_EVENTS / "workflow-failed.json").read_text())
    with pytest.raises(ValidationError, match="occurred_at"):
        WorkflowFailed.model_validate(dict(envelope["detail"], occurred_at=value))


@pytest.mark.parametrize("value", ["2026-11-25T14:35:00Z", "2026-11-25T09:35:00-05:00", "2026-11-25T14:35:00.123456Z",
                                   "2026-11-25T14:35:00+0000"])
def test_iso_datetimes_with_a_zone_are_accepted(value):
    envelope = json.loads((TEST_EVENTS / "workflow-failed.json").read_text())
    event = WorkflowFailed.model_validate(dict(envelope["detail"], occurred_at=value))
    assert event.occurred_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("value", ["1.0000001", 20261125, "20261125", "2026-11-25T00:00:00Z", 0])
def test_dates_must_be_iso_dates(value):
    with pytest.raises(ValidationError, match="trading_date"):
        RebalancePlanned.model_validate(dict(_plan_detail(), trading_date=value))
    signal = json.loads((TEST_EVENTS / "signal-generated.json").read_text())["detail"]
    with pytest.raises(ValidationError, match="data_as_of"):
        SignalGenerated.model_validate(dict(signal, data_as_of=value))


def test_absurd_signal_weights_are_schema_errors():
    envelope = json.loads((TEST_EVENTS / "signal-generated.json").read_text())
    for bad in ("1e100000", "1e-400"):
        envelope["detail"]["target_weights"] = {"SPY": bad}
        with pytest.raises(ValidationError, match="target_weights"):
            SignalGenerated.model_validate(envelope["detail"])


def test_counts_and_durations_are_bounded():
    from shared.events import TradeExecuted, WorkflowCompleted

    detail = json.loads((TEST_EVENTS / "trade-executed.json").read_text())["detail"]
    with pytest.raises(ValidationError, match="orders_failed"):
        TradeExecuted.model_validate(dict(detail, totals=dict(detail["totals"], orders_failed="9" * 5000)))
    completed = json.loads((TEST_EVENTS / "workflow-completed.json").read_text())["detail"]
    summary = completed["summary"]
    for bad in ("NaN", "-1", "1e300"):
        with pytest.raises(ValidationError, match="step_seconds"):
            WorkflowCompleted.model_validate(dict(completed, summary=dict(summary, step_seconds={"planned": bad})))
