"""The middleware every function's entry point wears, after Logger and Metrics.

Order of checks, each before the handler runs (after the function's log level is applied for this
invocation: shared/runtime/observability.py `configure_invocation`):
1. open the envelope (direct, Scheduler, rule, console, replay) and check its size;
2. circuit breaker: consumers other than the notifier skip ErrorNotificationRequested with the
   original's exact response;
3. route check: the detail-type is known, this function consumes it, and it comes from the
   expected `alchemiser.*` source; commands (LambdaEvent) only from a direct invocation or the
   Scheduler (`aws.scheduler`), and only to functions that take commands;
4. validation into the pydantic model, with an error that names the field (quoting bounded
   excerpts of the input, at most MAX_PROBLEMS problems);
5. hop limit: an event whose handler's own publications would be deeper than any legitimate chain
   (`catalog.PUBLISH_DEPTH`) is a loop and is stopped before the handler has any effect;
6. the correlation id is added to every log line.

Bad input is logged once with its correlation id and raised (InvalidEventError), so EventBridge
retries and the dead-letter queue take it; nothing is published about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from pydantic import BaseModel, ValidationError

from shared.events.base import MAX_HOPS, DomainEvent
from shared.events.catalog import (
    COMMAND_CONSUMERS,
    COMMAND_DETAIL_TYPE,
    COMMAND_SOURCE,
    NOTIFIER,
    SOURCE_PREFIX,
    publish_depth,
    route_for,
)
from shared.events.envelope import Delivery, InvalidEventError, open_envelope
from shared.events.responses import circuit_breaker_response
from shared.events.types import excerpt
from shared.runtime import metric_names
from shared.runtime.observability import configure_invocation, count

if TYPE_CHECKING:
    from shared.events.lambda_event import LambdaEvent


class HopLimitExceeded(InvalidEventError):
    """An event that has travelled further than any workflow can: a loop, stopped here."""


@dataclass(frozen=True)
class Incoming:
    """What the handler receives: the validated message and how it was delivered."""

    delivery: Delivery
    command: LambdaEvent | None = None
    event: DomainEvent | None = None

    @property
    def correlation_id(self) -> str | None:
        if self.event is not None:
            return self.event.correlation_id
        return self.command.correlation_id if self.command is not None else None


MAX_PROBLEMS = 5


def describe_validation_error(what: str, exc: ValidationError) -> str:
    """One line per problem, naming the field: 'SignalGenerated: target_weights.SPY: ...'.

    Bounded whatever the input: at most MAX_PROBLEMS problems, each field path, message and quoted
    input an excerpt (a 1 MB value or 10,000 bad keys make a message of a few hundred characters)."""
    errors = exc.errors(include_url=False)
    problems = []
    for err in errors[:MAX_PROBLEMS]:
        where = excerpt(".".join(str(p) for p in err["loc"]), 80).strip("'\"") or "(payload)"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown field '{where}'")
        elif err["type"] == "missing":
            problems.append(f"missing field '{where}'")
        else:
            message = excerpt(err["msg"], 160).strip("'\"")
            problems.append(f"field '{where}': {message} (got {excerpt(err.get('input'))})")
    counted = f" ({len(errors)} problems, the first {MAX_PROBLEMS})" if len(errors) > MAX_PROBLEMS else ""
    return f"invalid {what}{counted}: " + "; ".join(problems)


def _validate(model: type[BaseModel], payload: dict[str, Any], what: str) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidEventError(describe_validation_error(what, exc)) from exc


def _with_envelope_defaults(model: type[DomainEvent], delivery: Delivery) -> dict[str, Any]:
    detail = delivery.detail
    if not getattr(model, "accepts_envelope_defaults", False):
        return detail
    filled = dict(detail)
    if "event_id" not in filled and delivery.envelope_id:
        filled["event_id"] = delivery.envelope_id
    if "occurred_at" not in filled and delivery.time:
        filled["occurred_at"] = delivery.time
    return filled


def parse_delivery(delivery: Delivery, consumer: str) -> Incoming:
    """Validate a delivery for `consumer`; raise InvalidEventError naming what is wrong."""
    if delivery.kind in ("direct", "scheduler"):
        if consumer not in COMMAND_CONSUMERS:
            keys = excerpt(", ".join(sorted(map(str, delivery.detail))), 200).strip("'\"") or "none"
            raise InvalidEventError(
                f"the {consumer} function takes EventBridge events, not direct commands "
                f"(got a {delivery.kind} payload with keys: {keys})"
            )
        from shared.events.lambda_event import LambdaEvent  # only the functions that take commands build it

        return Incoming(delivery, command=_validate(LambdaEvent, delivery.detail, "LambdaEvent"))

    detail_type = delivery.detail_type or ""
    route = route_for(detail_type)
    if route is None and detail_type == COMMAND_DETAIL_TYPE:
        raise InvalidEventError(
            f"a {COMMAND_DETAIL_TYPE} command is accepted only from {COMMAND_SOURCE} or as a direct invocation, "
            f"got source {excerpt(delivery.source)}", correlation_id=delivery.correlation_hint())
    if route is None:
        raise InvalidEventError(f"unknown detail-type {excerpt(detail_type)}",
                                correlation_id=delivery.correlation_hint())
    if consumer not in route.consumers:
        raise InvalidEventError(
            f"the {consumer} function does not consume {detail_type} (consumers: {', '.join(route.consumers)})",
            correlation_id=delivery.correlation_hint(),
        )
    if delivery.source not in route.sources:
        expected = " or ".join(sorted(route.sources))
        why = "" if (delivery.source or "").startswith(SOURCE_PREFIX) else " (not an alchemiser.* source)"
        raise InvalidEventError(
            f"{detail_type} must come from {expected}, got source {excerpt(delivery.source)}{why}",
            correlation_id=delivery.correlation_hint(),
        )
    payload = _with_envelope_defaults(route.model, delivery)
    event: DomainEvent = _validate(route.model, payload, detail_type)
    depth = publish_depth(consumer, detail_type)
    if event.hop_count + depth > MAX_HOPS:
        deeper = f"; the {consumer} function's events would be at hop {event.hop_count + depth}" if depth else ""
        raise HopLimitExceeded(
            f"{detail_type} {event.event_id} has hop_count {event.hop_count}{deeper} > {MAX_HOPS}: "
            "a chain this long is a loop; stopped before any effect",
            correlation_id=event.correlation_id,
        )
    return Incoming(delivery, event=event)


@lambda_handler_decorator
def event_middleware(
    handler: Callable[[Incoming, Any], dict[str, Any]],
    event: Any,
    context: Any,
    *,
    consumer: str,
    logger: Any = None,
    metrics: Any = None,
) -> dict[str, Any]:
    """Powertools middleware: envelope, circuit breaker, routing, validation, hops, correlation id."""
    if logger is not None:
        configure_invocation(logger)  # the function's log level, this invocation (observability.py)
    request_id = getattr(context, "aws_request_id", None)
    try:
        delivery = open_envelope(event)
        if delivery.detail_type == "ErrorNotificationRequested" and consumer != NOTIFIER:
            if logger is not None:
                logger.info("Skipping ErrorNotificationRequested event to prevent error cascade",
                            extra={"detail_type": delivery.detail_type})
            count(metrics, metric_names.CIRCUIT_BREAKER_SKIPS)
            return circuit_breaker_response(request_id)
        incoming = parse_delivery(delivery, consumer)
    except InvalidEventError as exc:
        if logger is not None:
            logger.error(exc.reason, extra={"correlation_id": exc.correlation_id, "consumer": consumer})
        name = metric_names.HOP_LIMIT_STOPS if isinstance(exc, HopLimitExceeded) else metric_names.INVALID_EVENTS
        count(metrics, name)
        raise
    if logger is not None:
        logger.append_keys(correlation_id=incoming.correlation_id, delivery=delivery.kind,
                           detail_type=delivery.detail_type, replay_name=delivery.replay_name)
    return handler(incoming, context)
