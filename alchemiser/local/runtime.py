"""An in-process stand-in for EventBridge + Lambda, driven by infra/template.yaml.

- `put_events` builds envelopes exactly as EventBridge delivers them (all fields, `account`
  included), archives them, and queues one delivery per matching rule target.
- Each delivery is an asynchronous Lambda invocation of the target's handler with a fake
  context; a failure is retried per the target's retry policy, then sent to the local DLQ.
- Whatever a handler publishes (its outbox, see `shared.events.publisher.OutboxPublisher`) goes
  back onto the bus, so a chain runs until it is quiet.
- Handlers see the function's environment from the template, plus `ALCHEMISER_BACKEND=local`,
  the state directory and, when given, the simulated clock (`ALCHEMISER_AS_OF`); your environment's
  limits (`ALCHEMISER_MAX_POSITION_WEIGHT`, ...) win over the template's empty defaults for them.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import time
import traceback
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alchemiser.local.chaos import Chaos
from alchemiser.local.context import FakeLambdaContext
from alchemiser.local.event_patterns import Pattern, compile_pattern
from alchemiser.local.storage import Archive, DeadLetterQueue
from alchemiser.local.template import (
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    FunctionSpec,
    RuleSpec,
    TargetSpec,
    Template,
    load_template,
)
from shared.events.publisher import outbox_path


class InvocationError(RuntimeError):
    """A synchronous invocation raised; carries the hop that recorded it."""

    def __init__(self, hop: Hop) -> None:
        super().__init__(hop.error or "invocation failed")
        self.hop = hop


class TransientFault(RuntimeError):
    """Injected by a Chaos policy: the kind of failure Lambda retries."""


CRASHED_AFTER_EFFECTS = "CrashedAfterEffects"
"""The error a hop records when a Chaos policy lost its response after the handler's effects."""


class ChainDidNotQuiesce(RuntimeError):
    """More deliveries than any workflow needs: a loop the hop limit did not stop."""


@dataclass
class Hop:
    """One invocation of one function."""

    seq: int
    function: str
    trigger: str
    """The delivered detail-type, or 'command' for a direct invocation."""
    rule: str | None
    attempt: int
    request_id: str
    replay: bool = False
    status: str = "error"
    published: list[str] = field(default_factory=list)
    response: Any = None
    error: str | None = None
    seconds: float = 0.0
    correlation_id: str | None = None
    event_id: str | None = None
    """The delivered envelope's id (None for a direct invocation without one): retries share it."""


@dataclass
class Pending:
    rule: str | None
    target: TargetSpec
    envelope: dict[str, Any]
    attempt: int = 0
    """Invocations so far (both kinds of failure)."""
    function_errors: int = 0
    """Attempts the handler failed: Lambda retries these per the function's EventInvokeConfig."""
    delivery_failures: int = 0
    """Attempts that never reached the handler: the rule (or schedule) retries these per its RetryPolicy."""


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class LocalRuntime:
    def __init__(
        self,
        state_dir: Path,
        *,
        template: Template | None = None,
        as_of: datetime | None = None,
        env: dict[str, str] | None = None,
        on_hop: Callable[[Hop], None] | None = None,
        max_deliveries: int = 1000,
        chaos: Chaos | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.template = template or load_template()
        self.as_of = as_of
        self.env = dict(env or {})
        self.on_hop = on_hop
        self.max_deliveries = max_deliveries
        self.chaos = chaos
        self.archive = Archive(self.state_dir)
        self.dlq = DeadLetterQueue(self.state_dir)
        self.queue: deque[Pending] = deque()
        self.hops: list[Hop] = []
        self.published: list[dict[str, Any]] = []
        """Every envelope this runtime put on the bus, in order."""
        self._patterns: list[tuple[RuleSpec, Pattern]] = [
            (rule, compile_pattern(rule.pattern)) for rule in self.template.rules if rule.enabled
        ]
        self._started = time.monotonic()

    # ------------------------------------------------------------------ clock
    def now(self) -> datetime:
        """The simulated clock: `as_of` plus the real time elapsed since the runtime started."""
        if self.as_of is None:
            return datetime.now(UTC)
        return self.as_of.astimezone(UTC) + timedelta(seconds=time.monotonic() - self._started)

    # ------------------------------------------------------------------ bus
    def put_events(self, entries: list[dict[str, Any]], *, replay_name: str | None = None) -> list[dict[str, Any]]:
        """Accept PutEvents entries: envelope, archive, and queue a delivery per matching target."""
        envelopes = []
        for entry in entries:
            bus = entry.get("EventBusName", self.template.bus_name)
            if bus != self.template.bus_name:
                raise ValueError(f"event bus '{bus}' does not exist (the template's bus is {self.template.bus_name})")
            detail = entry["Detail"]
            envelope = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": LOCAL_ACCOUNT,
                "time": iso_z(self.now()),
                "region": LOCAL_REGION,
                "resources": list(entry.get("Resources", [])),
                "detail": json.loads(detail) if isinstance(detail, str) else detail,
            }
            self.archive.append(envelope)
            self.published.append(envelope)
            self.route(envelope, replay_name=replay_name)
            envelopes.append(envelope)
        return envelopes

    def route(self, envelope: dict[str, Any], *, replay_name: str | None = None) -> int:
        """Queue a delivery for every enabled rule target whose pattern matches."""
        delivered = dict(envelope, **({"replay-name": replay_name} if replay_name else {}))
        queued = 0
        for rule, pattern in self._patterns:
            if pattern.matches(delivered):
                for target in rule.targets:
                    for _ in range(self.chaos.copies() if self.chaos else 1):
                        self.queue.append(Pending(rule.logical_id, target, copy.deepcopy(delivered)))
                        queued += 1
        return queued

    def matching_rules(self, envelope: dict[str, Any]) -> list[str]:
        return [rule.logical_id for rule, pattern in self._patterns if pattern.matches(envelope)]

    # ------------------------------------------------------------------ delivery
    def run_until_quiet(self) -> list[Hop]:
        """Deliver queued events (and whatever they cause) until nothing is left."""
        hops: list[Hop] = []
        while self.queue:
            if len(self.hops) >= self.max_deliveries:
                raise ChainDidNotQuiesce(f"more than {self.max_deliveries} deliveries; stopping")
            if self.chaos is not None:
                self.queue.rotate(-self.chaos.pick(len(self.queue)))
                if len(self.queue) > 1 and self.chaos.delay():
                    self.queue.rotate(-1)  # this one goes to the back: delivered late
                    continue
            hops.append(self.deliver(self.queue.popleft()))
        return hops

    def deliver(self, pending: Pending) -> Hop:
        """One asynchronous invocation; a failure is retried as AWS retries it, then dead-lettered.

        As in AWS: a failure to deliver (throttled, the invocation never reached the handler: a
        `TransientFault`) is retried per the rule's or schedule's RetryPolicy; once delivered, the
        invocation is Lambda's asynchronous one, so a function error is retried per the function's
        EventInvokeConfig (MaximumRetryAttempts, default 2: three attempts) and then goes to its
        on-failure destination (the DLQ)."""
        spec = self.template.functions[pending.target.function]
        retries_left = min(pending.target.retry_attempts - pending.delivery_failures,
                           spec.async_retry_attempts - pending.function_errors)
        fault = self.chaos.fault(pending.attempt, retries_left) if self.chaos else None
        hop = self._invoke(spec, pending.envelope, trigger=pending.envelope.get("detail-type", "?"),
                           rule=pending.rule, attempt=pending.attempt, fault=fault)
        if hop.error is not None:
            undelivered = hop.error.startswith(f"{TransientFault.__name__}:")
            failures = pending.delivery_failures + undelivered
            errors = pending.function_errors + (not undelivered)
            if failures <= pending.target.retry_attempts and errors <= spec.async_retry_attempts:
                self.queue.append(Pending(pending.rule, pending.target, pending.envelope, pending.attempt + 1,
                                          function_errors=errors, delivery_failures=failures))
            else:
                self.dlq.send(pending.envelope, rule=pending.rule, target=spec.logical_id, error=hop.error,
                              attempts=pending.attempt + 1, failed_at=self.now())
        return hop

    def last_attempt(self, rule: str | None, target: TargetSpec, envelope: dict[str, Any]) -> Pending:
        """A delivery with no retry left (a DLQ redrive: one attempt, a failure goes back to the DLQ)."""
        spec = self.template.functions[target.function]
        return Pending(rule, target, envelope, spec.async_retry_attempts, function_errors=spec.async_retry_attempts,
                       delivery_failures=target.retry_attempts)

    def invoke(self, service: str, event: Any, *, follow: bool = False) -> tuple[Hop, list[Hop]]:
        """A synchronous invocation (like the Lambda console's Test): errors raise InvocationError."""
        spec = self.template.function_for(service)
        hop = self._invoke(spec, event, trigger="command", rule=None, attempt=0)
        if hop.error is not None:
            raise InvocationError(hop)
        return hop, (self.run_until_quiet() if follow else [])

    def invoke_async(self, service: str, event: Any, target: TargetSpec | None = None) -> None:
        """Queue an asynchronous invocation (what the Scheduler does), with a retry policy."""
        spec = self.template.function_for(service)
        self.queue.append(Pending(None, target or TargetSpec(spec.logical_id, 2, 3600, None), event))

    # ------------------------------------------------------------------ internals
    def function_env(self, spec: FunctionSpec) -> dict[str, str]:
        from shared.limits.specs import SPECS

        env = dict(spec.environment)
        # Your limits (ALCHEMISER_MAX_POSITION_WEIGHT=1 ...) reach the local functions: the template's empty
        # defaults for them mean "not set" and must not hide your environment's value.
        env.update({s.env: os.environ[s.env] for s in SPECS if os.environ.get(s.env)})
        env.update(
            ALCHEMISER_BACKEND="local",
            ALCHEMISER_STATE_DIR=str(self.state_dir),
            AWS_LAMBDA_FUNCTION_NAME=spec.physical_name,
            AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", LOCAL_REGION),
        )
        if self.as_of is not None:
            env["ALCHEMISER_AS_OF"] = self.now().isoformat()
        env.update(self.env)
        return env

    def _invoke(self, spec: FunctionSpec, event: Any, *, trigger: str, rule: str | None, attempt: int,
                fault: str | None = None) -> Hop:
        context = FakeLambdaContext.for_function(spec)
        is_replay = isinstance(event, dict) and "replay-name" in event
        hop = Hop(len(self.hops) + 1, spec.service, trigger, rule, attempt, context.aws_request_id, is_replay)
        hop.event_id = event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None
        handler = resolve_handler(spec.handler)
        started = time.perf_counter()
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with environment(self.function_env(spec)), \
                (logs / f"{spec.service}.log").open("a", encoding="utf-8") as log_fh, \
                (logs / "metrics.jsonl").open("a", encoding="utf-8") as metrics_fh, \
                redirect_stdout(metrics_fh), redirect_stderr(log_fh), warnings.catch_warnings():
            # Powertools warns when an invocation publishes no metric: a non-JSON line in the JSON logs.
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            try:
                if fault == "transient":  # throttled, or the container died before the handler's first line
                    raise TransientFault("injected: the invocation failed before the handler ran")
                hop.response = handler(copy.deepcopy(event), context)
                hop.status = str(hop.response.get("status", "success")) if isinstance(hop.response, dict) else "success"
            except Exception as exc:
                hop.error = f"{type(exc).__name__}: {exc}"
                log_fh.write(traceback.format_exc())
        hop.seconds = time.perf_counter() - started
        if isinstance(hop.response, dict):
            hop.correlation_id = hop.response.get("correlation_id")
        hop.published = self._collect_outbox(context.aws_request_id)
        if fault == "crash_after" and hop.error is None:  # effects done, events published, the answer lost
            hop.status = "error"
            hop.error = f"{CRASHED_AFTER_EFFECTS}: injected: the response was lost after the handler's effects"
        self.hops.append(hop)
        if self.on_hop is not None:
            self.on_hop(hop)
        return hop

    def _collect_outbox(self, request_id: str) -> list[str]:
        path = outbox_path(self.state_dir, request_id)
        if not path.exists():
            return []
        entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        path.unlink()
        self.put_events(entries)
        return [e["DetailType"] for e in entries]


def resolve_handler(dotted: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = dotted.rpartition(".")
    handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module_name), attr)
    return handler


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block (what a Lambda container's env is)."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
