"""The envelope middleware: circuit breaker, routing checks, validation, hop limit, logging."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from aws_lambda_powertools import Metrics

from shared.events.catalog import EXECUTION, ORCHESTRATOR, PORTFOLIO, STRATEGY
from shared.events.envelope import InvalidEventError
from shared.events.middleware import HopLimitExceeded, Incoming, event_middleware
from shared.runtime.observability import make_logger
from tests.conftest import load_test_event

CIRCUIT_BREAKER_KEYS = {"status", "mode", "trading_mode", "message", "request_id"}


def make_handler(consumer, seen, logger=None, metrics=None):
    @event_middleware(consumer=consumer, logger=logger, metrics=metrics)
    def handler(incoming: Incoming, context):
        seen.append(incoming)
        return {"status": "success", "correlation_id": incoming.correlation_id}

    return handler


@pytest.mark.parametrize("consumer", [STRATEGY, PORTFOLIO, EXECUTION])
def test_circuit_breaker_returns_the_original_response_to_non_notifiers(consumer, lambda_context):
    seen: list = []
    response = make_handler(consumer, seen)(load_test_event("eventbridge-error-notification.json"), lambda_context)
    assert response == {
        "status": "skipped",
        "mode": "error_notification",
        "trading_mode": "n/a",
        "message": "Error notification event skipped (circuit breaker)",
        "request_id": lambda_context.aws_request_id,
    }
    assert seen == []


def test_notifier_receives_error_notifications_with_envelope_defaults(lambda_context):
    seen: list = []
    make_handler(ORCHESTRATOR, seen)(load_test_event("eventbridge-error-notification.json"), lambda_context)
    (incoming,) = seen
    assert incoming.event.event_id == "12345-error-event"  # from the envelope: the original sample has none
    assert incoming.event.error_message == "Test error"
    assert incoming.correlation_id == "test-123"


def test_direct_and_scheduler_commands_reach_the_strategy_function(lambda_context):
    seen: list = []
    handler = make_handler(STRATEGY, seen)
    handler({"mode": "trade"}, lambda_context)
    handler(load_test_event("eventbridge-scheduler-trade.json"), lambda_context)
    assert [i.delivery.kind for i in seen] == ["direct", "scheduler"]
    assert all(i.command is not None and i.command.mode == "trade" for i in seen)


def test_domain_event_is_validated_into_its_model(lambda_context):
    seen: list = []
    make_handler(PORTFOLIO, seen)(load_test_event("signal-generated.json"), lambda_context)
    assert type(seen[0].event).__name__ == "SignalGenerated"


def test_replay_delivery_is_marked(lambda_context):
    seen: list = []
    event = dict(load_test_event("rebalance-planned.json"), **{"replay-name": "r1"})
    make_handler(EXECUTION, seen)(event, lambda_context)
    assert seen[0].delivery.is_replay


@pytest.mark.parametrize(
    ("consumer", "mutate", "message"),
    [
        (PORTFOLIO, lambda e: e.update({"detail-type": "TestEvent"}), "unknown detail-type 'TestEvent'"),
        (PORTFOLIO, lambda e: e.update({"source": "alchemiser.test"}),
         "SignalGenerated must come from alchemiser.strategy, got source 'alchemiser.test'"),
        (PORTFOLIO, lambda e: e.update({"source": "evil.corp"}), "not an alchemiser.* source"),
        (EXECUTION, lambda e: None, "the execution function does not consume SignalGenerated"),
        (PORTFOLIO, lambda e: e["detail"].pop("target_weights"), "missing field 'target_weights'"),
        (PORTFOLIO, lambda e: e["detail"].update({"extra": 1}), "unknown field 'extra'"),
        (PORTFOLIO, lambda e: e["detail"].update({"hop_count": "many"}), "field 'hop_count'"),
        (PORTFOLIO, lambda e: e["detail"].update({"schema_version": 2}), "field 'schema_version'"),
    ],
)
def test_bad_domain_events_raise_a_clear_error(consumer, mutate, message, lambda_context):
    event = load_test_event("signal-generated.json")
    mutate(event)
    seen: list = []
    with pytest.raises(InvalidEventError, match=message):
        make_handler(consumer, seen)(event, lambda_context)
    assert seen == []


def test_direct_payload_to_an_event_only_function_is_rejected(lambda_context):
    with pytest.raises(InvalidEventError, match="takes EventBridge events, not direct commands"):
        make_handler(PORTFOLIO, [])({"mode": "trade"}, lambda_context)


def test_command_typo_is_rejected_naming_the_field(lambda_context):
    with pytest.raises(InvalidEventError, match="unknown field 'mdoe'"):
        make_handler(STRATEGY, [])({"mdoe": "trade"}, lambda_context)


@pytest.mark.parametrize("sample,consumer,deepest", [
    ("rebalance-planned.json", EXECUTION, 7),  # its TradeExecuted would be at 9
    ("signal-generated.json", PORTFOLIO, 7),  # its RebalancePlanned / WorkflowFailed would be at 9
    ("trade-executed.json", ORCHESTRATOR, 6),  # its WorkflowFailed + ErrorNotificationRequested: 7, 8
    ("workflow-failed.json", ORCHESTRATOR, 7),  # its ErrorNotificationRequested
    ("rebalance-planned.json", ORCHESTRATOR, 8),  # recorded only: nothing published
    ("workflow-completed.json", ORCHESTRATOR, 8),
])
def test_an_input_whose_own_publications_would_pass_the_hop_limit_is_stopped_before_the_handler(
        lambda_context, sample, consumer, deepest):
    event = load_test_event(sample)
    event["detail"]["hop_count"] = deepest + 1
    seen: list = []
    with pytest.raises(HopLimitExceeded, match=f"hop_count {deepest + 1}.* > 8: .*stopped before any effect"):
        make_handler(consumer, seen)(event, lambda_context)
    assert seen == []  # the handler (orders, notifications, state) never ran
    event["detail"]["hop_count"] = deepest
    make_handler(consumer, seen)(event, lambda_context)
    assert len(seen) == 1


def test_a_plan_at_hop_8_never_reaches_execution(lambda_context):
    # Reproduced: a RebalancePlanned at hop 8 executed its orders, then its TradeExecuted (hop 9) was refused.
    event = load_test_event("rebalance-planned.json")
    event["detail"]["hop_count"] = 8
    with pytest.raises(HopLimitExceeded, match="execution function's events would be at hop 9 > 8"):
        make_handler(EXECUTION, [])(event, lambda_context)


def test_a_scheduled_event_from_any_other_source_is_not_a_command(lambda_context):
    event = load_test_event("eventbridge-scheduler-trade.json")
    for source in ("alchemiser.portfolio", "alchemiser.strategy", "aws.events", None):
        forged = {**event, "source": source}
        seen: list = []
        for consumer in (STRATEGY, ORCHESTRATOR):
            with pytest.raises(InvalidEventError, match=r"accepted only from aws\.scheduler or as a direct invocation"):
                make_handler(consumer, seen)(forged, lambda_context)
        assert seen == []
    seen = []
    make_handler(STRATEGY, seen)(event, lambda_context)
    assert seen[0].delivery.kind == "scheduler" and seen[0].command.mode == "trade"


def test_validation_errors_quote_bounded_excerpts(lambda_context):
    event = load_test_event("signal-generated.json")
    event["detail"]["target_weights"] = {f"BAD{i}" * 50: "x" * 100_000 for i in range(500)}
    event["detail"]["trading_date"] = "9" * 100_000
    with pytest.raises(InvalidEventError) as raised:
        make_handler(PORTFOLIO, [])(event, lambda_context)
    message = raised.value.reason
    assert len(message) <= 2000 and "(1001 problems, the first 5)" in message
    assert "9" * 100 not in message and "x" * 100 not in message


def test_unknown_detail_types_and_sources_are_quoted_as_excerpts(lambda_context):
    event = load_test_event("signal-generated.json")
    with pytest.raises(InvalidEventError) as raised:
        make_handler(PORTFOLIO, [])({**event, "source": "alchemiser." + "s" * 50_000}, lambda_context)
    assert len(raised.value.reason) < 300
    with pytest.raises(InvalidEventError) as raised:
        make_handler(PORTFOLIO, [])({**event, "detail-type": "T" * 50_000}, lambda_context)
    assert len(raised.value.reason) < 300
    with pytest.raises(InvalidEventError) as raised:
        make_handler(EXECUTION, [])({f"k{i}" * 100: 1 for i in range(1000)}, lambda_context)
    assert len(raised.value.reason) < 500


def test_bad_input_is_logged_once_with_its_correlation_id(lambda_context, capsys):
    logger = make_logger(f"test-{uuid.uuid4()}")
    logger.setLevel(logging.INFO)
    event = load_test_event("signal-generated.json")
    event["source"] = "alchemiser.test"
    with pytest.raises(InvalidEventError):
        make_handler(PORTFOLIO, [], logger=logger)(event, lambda_context)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["correlation_id"] == "run-2026-11-25-paper"


def test_correlation_id_is_added_to_every_log_line(lambda_context, capsys):
    logger = make_logger(f"test-{uuid.uuid4()}")
    logger.setLevel(logging.INFO)

    @event_middleware(consumer=PORTFOLIO, logger=logger)
    def handler(incoming, context):
        logger.info("planning")
        return {}

    handler(load_test_event("signal-generated.json"), lambda_context)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "planning" and line["correlation_id"] == "run-2026-11-25-paper"


def test_circuit_breaker_and_invalid_events_are_counted(lambda_context, capsys, monkeypatch):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    metrics = Metrics(namespace="Alchemiser", service="test")

    @metrics.log_metrics
    @event_middleware(consumer=STRATEGY, metrics=metrics)
    def handler(incoming, context):
        return {}

    handler(load_test_event("eventbridge-error-notification.json"), lambda_context)
    emf = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert emf["CircuitBreakerSkips"] == [1.0] or emf["CircuitBreakerSkips"] == 1.0
