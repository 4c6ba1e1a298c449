"""Run one trading day through the local runtime, as the Scheduler would start it in AWS.

The Scheduler's envelope (`{"mode": "trade"}`) goes to the strategy function as an asynchronous
invocation with the schedule's retry policy; every published event then flows through the
template's rules until the chain is quiet. The outcome is read from what was published.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alchemiser.local.chaos import Chaos
from alchemiser.local.runtime import Hop, LocalRuntime, iso_z
from alchemiser.local.template import LOCAL_ACCOUNT, LOCAL_REGION, ScheduleSpec, Template, load_template

DEFAULT_SCHEDULE = (time(9, 35), ZoneInfo("America/New_York"))


@dataclass(frozen=True)
class DayOptions:
    state_dir: Path
    as_of: datetime | None = None
    broker: str = "sim"
    data: str = "offline"
    alpaca_keys: tuple[str, str] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class DayResult:
    as_of: datetime
    status: str
    """completed | failed | skipped | duplicate | incomplete"""
    reason: str
    correlation_id: str | None
    hops: list[Hop]
    events: list[dict[str, Any]]
    """Envelopes published during this run, in the order they reached the bus."""
    dead_lettered: int = 0

    @property
    def detail_types(self) -> list[str]:
        return [e["detail-type"] for e in self.events]

    @property
    def duplicates_suppressed(self) -> int:
        return sum(1 for hop in self.hops if hop.status == "duplicate")

    def last(self, detail_type: str) -> dict[str, Any] | None:
        found = [e["detail"] for e in self.events if e["detail-type"] == detail_type]
        return found[-1] if found else None

    @property
    def orders_placed(self) -> int:
        trade = self.last("TradeExecuted")
        return int(trade["totals"]["orders_placed"]) if trade else 0


def strategy_schedule(template: Template) -> ScheduleSpec | None:
    for schedule in template.schedules:
        if template.functions[schedule.target.function].service == "strategy":
            return schedule
    return None


def schedule_time(schedule: ScheduleSpec | None) -> tuple[time, ZoneInfo]:
    """The time of day a `cron(M H ...)` schedule fires, in its timezone."""
    if schedule is None:
        return DEFAULT_SCHEDULE
    match = re.fullmatch(r"cron\((\d{1,2}) (\d{1,2}) .*\)", schedule.expression.strip())
    if not match:
        return DEFAULT_SCHEDULE
    return time(int(match.group(2)), int(match.group(1))), ZoneInfo(schedule.timezone)


def default_as_of(now: datetime, at: tuple[time, ZoneInfo]) -> datetime:
    """The most recent trading session at its scheduled time, so a weekend or holiday still trades a day."""
    from shared.marketdata.calendar import ExchangeCalendar

    fire_time, zone = at
    session = ExchangeCalendar().latest_session(now)
    moment = datetime.combine(session.date, fire_time, zone)
    if moment > now:  # today's session opened, but the schedule has not fired yet
        previous = ExchangeCalendar().previous_session(session.date)
        moment = datetime.combine(previous.date, fire_time, zone)
    return moment


def scheduler_envelope(as_of: datetime, schedule: ScheduleSpec | None) -> dict[str, Any]:
    name = schedule.logical_id if schedule else "local"
    payload = schedule.target.input if schedule and schedule.target.input else {"mode": "trade"}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": LOCAL_ACCOUNT,
        "time": iso_z(as_of),
        "region": LOCAL_REGION,
        "resources": [f"arn:aws:scheduler:{LOCAL_REGION}:{LOCAL_ACCOUNT}:schedule/default/{name}"],
        "detail": payload,
    }


def runtime_env(options: DayOptions) -> dict[str, str]:
    env = {"ALCHEMISER_BROKER": options.broker, "ALCHEMISER_MARKET_DATA": options.data, **options.extra_env}
    if options.alpaca_keys is not None:
        env["ALCHEMISER_ALPACA_API_KEY"], env["ALCHEMISER_ALPACA_SECRET_KEY"] = options.alpaca_keys
    return env


def run_day(options: DayOptions, *, on_hop: Callable[[Hop], None] | None = None,
            template: Template | None = None, now: datetime | None = None, chaos: Chaos | None = None,
            setup: Callable[[LocalRuntime], None] | None = None) -> DayResult:
    """Start the day as the Scheduler would and let the chain run until it is quiet.

    `chaos` injects delivery faults; `setup` may queue more deliveries (e.g. a poison event) that
    then mix with the day's own.
    """
    template = template or load_template()
    schedule = strategy_schedule(template)
    as_of = options.as_of or default_as_of(now or datetime.now(ZoneInfo("UTC")), schedule_time(schedule))
    runtime = LocalRuntime(options.state_dir, template=template, as_of=as_of, env=runtime_env(options),
                           on_hop=on_hop, chaos=chaos)
    dlq_before = len(runtime.dlq.messages())
    runtime.invoke_async("strategy", scheduler_envelope(as_of, schedule), schedule.target if schedule else None)
    if setup is not None:
        setup(runtime)
    hops = runtime.run_until_quiet()
    result = DayResult(as_of, "incomplete", "", None, hops, runtime.published,
                       dead_lettered=len(runtime.dlq.messages()) - dlq_before)
    _judge(result)
    return result


def _judge(result: DayResult) -> None:
    """Read the day's outcome from the published events and the strategy's responses.

    A strategy invocation may have run its effects and still been retried (its response lost), so
    the events decide first; the responses only explain a day that published nothing.
    """
    started = result.last("WorkflowStarted")
    answers = [h.response for h in result.hops
               if h.function == "strategy" and h.error is None and isinstance(h.response, dict)]
    result.correlation_id = started["correlation_id"] if started else next(
        (a.get("correlation_id") for a in answers if a.get("correlation_id")), None)
    completed = result.last("WorkflowCompleted")
    failed = result.last("WorkflowFailed")
    if completed is not None:
        result.status, result.reason = "completed", "workflow completed"
    elif failed is not None:
        result.status, result.reason = "failed", f"{failed['step']}: {failed['reason']}"
    elif started is None and answers and answers[0].get("status") in ("skipped", "duplicate"):
        result.status, result.reason = str(answers[0]["status"]), str(answers[0].get("message", ""))
    elif not answers:
        result.reason = "the strategy function failed on every attempt (see the dead-letter queue)"
    else:
        result.reason = "the chain went quiet before the workflow completed (see the dead-letter queue)"


def seconds_between(a: str, b: str) -> float:
    parse = datetime.fromisoformat
    return (parse(b.replace("Z", "+00:00")) - parse(a.replace("Z", "+00:00"))) / timedelta(seconds=1)
