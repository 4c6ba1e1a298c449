"""Run one trading day through the local runtime, as the Scheduler would start it in AWS.

The Scheduler's envelope (`{"mode": "trade"}`) goes to the strategy function as an asynchronous
invocation with the schedule's retry policy; every published event then flows through the
template's rules until the chain is quiet. The outcome is what the orchestrator recorded for
the workflow (its status and reason), explained by what was published.

Rerunning a day (the resume rule):
- the runtime first recovers what a killed process left (`statedir.recover`: outbox entries put
  on the bus, IN_PROGRESS idempotency records released);
- the day's workflow is `run-<date>-<mode>`, or its latest retry (`...-retry-<n>`, see below);
- completed: the strategy answers `duplicate`; nothing to do;
- not finished (or never recorded): resumed. Its archived events (those a function recorded as
  published: `workflow_events`) are redelivered to their
  consumers in the order the bus accepted them (causal order), and the strategy command is sent
  again: each handler either dedupes (it had completed) or runs again (it had died). Execution
  looks every leg of a claimed plan up and places only what is missing;
- ended failed or skipped: nothing is sent; the result says so and names the command that starts
  a new, fully re-gated workflow: `alchemiser run --as-of <date> --retry`, whose strategy command
  carries `correlation_id = run-<date>-<mode>-retry-<n>` (n = 1 + the retries already recorded).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from alchemiser.local.chaos import Chaos
from alchemiser.local.runtime import Hop, LocalRuntime, iso_z
from alchemiser.local.statedir import (
    Recovered,
    current_workflow_id,
    read_run_record,
    recover,
    retries_recorded,
    workflow_status,
    write_run_record,
)
from alchemiser.local.template import LOCAL_ACCOUNT, LOCAL_REGION, ScheduleSpec, Template, load_template

if TYPE_CHECKING:
    from shared.venues.settings import BrokerSettings

DEFAULT_SCHEDULE = (time(9, 35), ZoneInfo("America/New_York"))


@dataclass(frozen=True)
class DayOptions:
    state_dir: Path
    as_of: datetime | None = None
    broker: str = "sim"
    data: str = "offline"
    alpaca_keys: tuple[str, str] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    retry: bool = False
    """Start a new workflow for a day whose workflow ended failed or skipped."""
    strategy_config: Path | None = None
    """The portfolio TOML the strategy function reads (unset: the packaged one)."""


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
    resumed: bool = False
    """The day's workflow existed unfinished (or a killed run left work behind) and was resumed."""
    redelivered: list[dict[str, Any]] = field(default_factory=list)
    """Archived events of the workflow redelivered to resume it."""
    recovered: Recovered | None = None
    retry_command: str | None = None
    """For a workflow that ended failed or skipped: the command that starts a new run."""
    orders_before: frozenset[str] | None = None
    """Client order ids the (simulated) broker held before the run, when it can be listed."""

    @property
    def detail_types(self) -> list[str]:
        return [e["detail-type"] for e in self.events]

    @property
    def duplicates_suppressed(self) -> int:
        return sum(1 for hop in self.hops if hop.status == "duplicate")

    def last(self, detail_type: str) -> dict[str, Any] | None:
        """The latest such event of this run: published now, else redelivered from the archive."""
        for source in (self.events, self.redelivered):
            found: list[dict[str, Any]] = [e["detail"] for e in source if e["detail-type"] == detail_type]
            if found:
                return found[-1]
        return None

    @property
    def placed_now_and_adopted(self) -> tuple[int, int] | None:
        """Of the orders the latest TradeExecuted reports at the broker, how many its run placed and how many
        it found there already (adopted), as execution counted them for any broker. For an event written
        before execution counted them: from the broker's orders before the run, when they could be listed."""
        trade = self.last("TradeExecuted")
        if trade is None:
            return None
        totals = trade["totals"]
        if totals.get("orders_placed_now") is not None and totals.get("orders_adopted") is not None:
            return int(totals["orders_placed_now"]), int(totals["orders_adopted"])
        if self.orders_before is None:
            return None
        ids = [o["client_order_id"] for o in trade["orders"] if o.get("broker_order_id")]
        adopted = sum(1 for i in ids if i in self.orders_before)
        return len(ids) - adopted, adopted

    @property
    def orders_at_broker(self) -> int:
        """The planned orders the broker holds, by the latest TradeExecuted (placed now + adopted)."""
        trade = self.last("TradeExecuted")
        if trade is None:
            return 0
        totals = trade["totals"]
        return int(totals.get("orders_at_broker", totals.get("orders_placed", 0)))


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


def scheduler_envelope(as_of: datetime, schedule: ScheduleSpec | None,
                       payload: dict[str, Any] | None = None) -> dict[str, Any]:
    name = schedule.logical_id if schedule else "local"
    if payload is None:
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
    env = {"ALCHEMISER_BROKER": options.broker, "ALCHEMISER_MARKET_DATA": options.data}
    if "alpaca" not in (options.broker, options.data):
        env["ALCHEMISER_CALENDAR"] = "exchange"  # no keys locally: the bundled NYSE calendar, not Alpaca's
    env.update(options.extra_env)
    if options.strategy_config is not None:
        env["ALCHEMISER_STRATEGY_CONFIG"] = str(options.strategy_config)
    if options.alpaca_keys is not None:
        env["ALCHEMISER_ALPACA_API_KEY"], env["ALCHEMISER_ALPACA_SECRET_KEY"] = options.alpaca_keys
    return env


def function_settings(options: DayOptions, as_of: datetime, service: str = "execution",
                      template: Template | None = None) -> BrokerSettings:
    """The broker settings the day's `service` function runs with: the process's environment under what the
    local runtime gives that function (`LocalRuntime.function_env`: the template's variables, the local backend,
    the day's options). A read made beside the chain, such as the account after the day, builds its clients from
    these, so it reaches the same account through the same endpoints (ALCHEMISER_ALPACA_TRADING_URL /
    ALCHEMISER_ALPACA_DATA_URL: a fake Alpaca in tests, a proxy) as the function that traded."""
    from shared.venues.settings import BrokerSettings

    template = template or load_template()
    runtime = LocalRuntime(options.state_dir, template=template, as_of=as_of, env=runtime_env(options))
    return BrokerSettings.from_env({**os.environ, **runtime.function_env(template.function_for(service))})


def trading_mode_of(template: Template) -> str:
    strategy = template.function_for("strategy")
    return strategy.environment.get("ALCHEMISER_TRADING_MODE", "paper") or "paper"


def day_workflow_id(as_of: datetime, template: Template) -> str:
    from services.strategy.run_rules import run_correlation_id
    from shared.runtime.clock import trading_date

    return run_correlation_id(trading_date(as_of), trading_mode_of(template))


def retry_command(as_of: datetime) -> str:
    """A date alone: the retry fires at the schedule's time that day (not before the open)."""
    from shared.runtime.clock import trading_date

    return f"alchemiser run --as-of {trading_date(as_of).isoformat()} --retry"


def sim_orders(state_dir: Path, as_of: datetime) -> list[Any] | None:
    """The simulated broker's own persisted orders ([] before its first use; None if it cannot list them)."""
    if not (Path(state_dir) / "broker").is_dir():
        return []
    from shared.venues.factory import make_broker
    from shared.venues.settings import BrokerSettings

    broker = make_broker(BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_AS_OF": as_of.isoformat(),
                                                  "ALCHEMISER_STATE_DIR": str(state_dir)}))
    lister = getattr(broker, "list_orders", None)
    return None if lister is None else list(lister())


def _broker_order_ids(options: DayOptions, as_of: datetime) -> frozenset[str] | None:
    if options.broker != "sim":
        return None
    orders = sim_orders(options.state_dir, as_of)
    return None if orders is None else frozenset(o.client_order_id for o in orders)


def run_day(options: DayOptions, *, on_hop: Callable[[Hop], None] | None = None,
            template: Template | None = None, now: datetime | None = None, chaos: Chaos | None = None,
            setup: Callable[[LocalRuntime], None] | None = None) -> DayResult:
    """Start (or resume) the day as the Scheduler would and let the chain run until it is quiet.

    Call it while holding the state directory (`statedir.exclusive`). `chaos` injects delivery
    faults; `setup` may queue more deliveries (e.g. a poison event) that then mix with the day's own.
    """
    template = template or load_template()
    schedule = strategy_schedule(template)
    as_of = options.as_of or default_as_of(now or datetime.now(ZoneInfo("UTC")), schedule_time(schedule))
    base_id = day_workflow_id(as_of, template)
    workflow_id = current_workflow_id(options.state_dir, base_id)
    prior = workflow_status(options.state_dir, workflow_id)
    started_with = read_run_record(options.state_dir, workflow_id)
    if options.strategy_config is None and started_with and started_with.get("strategy_config"):
        # A resumed strategy step reads the portfolio the workflow was started with.
        options = replace(options, strategy_config=Path(started_with["strategy_config"]))
    runtime = LocalRuntime(options.state_dir, template=template,
                           as_of=resume_clock(options.state_dir, workflow_id, as_of),
                           env=runtime_env(options), on_hop=on_hop, chaos=chaos)
    dlq_before = len(runtime.dlq.messages())
    ended = prior is not None and prior[0] in ("failed", "skipped")
    explicit_id: str | None = None if workflow_id == base_id else workflow_id
    retried = options.retry and ended
    if retried:
        explicit_id = f"{base_id}-retry-{len(retries_recorded(options.state_dir, base_id)) + 1}"
        workflow_id, prior, ended = explicit_id, None, False
    redelivered = [] if ended or (prior is not None and prior[0] == "completed") else \
        workflow_events(options.state_dir, workflow_id)
    orders_before = _broker_order_ids(options, as_of)
    if not ended:
        write_run_record(options.state_dir, workflow_id, run_record(options, as_of))
        payload = dict(schedule.target.input or {"mode": "trade"}) if schedule else {"mode": "trade"}
        if explicit_id is not None:
            payload["correlation_id"] = explicit_id
        runtime.invoke_async("strategy", scheduler_envelope(as_of, schedule, payload),
                             schedule.target if schedule else None)
        for envelope in redelivered:
            runtime.route(envelope)
    recovered = recover(runtime)
    if setup is not None:
        setup(runtime)
    hops = runtime.run_until_quiet()
    result = DayResult(as_of, "incomplete", "", workflow_id if (prior or redelivered) else None, hops,
                       runtime.published, dead_lettered=len(runtime.dlq.messages()) - dlq_before,
                       resumed=bool(redelivered) or (prior is not None and prior[0] not in ("completed",)) or
                       bool(recovered.outbox_events or recovered.released),
                       redelivered=redelivered, recovered=recovered, orders_before=orders_before)
    if ended:
        assert prior is not None
        result.resumed = False
        result.status = "ended"
        result.correlation_id = workflow_id
        result.reason = (f"workflow {workflow_id} already ended {prior[0]}" + (f" ({prior[1]})" if prior[1] else "")
                         + "; nothing sent")
        result.retry_command = retry_command(as_of)
        return result
    _judge(result)
    recorded = workflow_status(options.state_dir, result.correlation_id) if result.correlation_id else None
    if recorded is not None:
        _from_record(result, recorded)
    if result.status in ("failed", "skipped") and recorded is not None:
        result.retry_command = retry_command(as_of)
    if result.status == "duplicate":
        result.resumed = False
    if options.retry and not retried:
        result.reason += " (--retry ignored: the day's workflow had not ended failed or skipped)"
    return result


def resume_clock(state_dir: Path, workflow_id: str, as_of: datetime) -> datetime:
    """Where the simulated clock starts: `as_of`, or just after the latest event the day already has.

    A rerun happens later than the run it resumes; the handlers must never see time go backwards
    (a rerun planner would find its fresh account snapshot older than the signal it plans)."""
    from alchemiser.local.statedir import read_outbox
    from alchemiser.local.storage import parse_time

    details = [e.get("detail") for e in workflow_events(state_dir, workflow_id)]
    outbox = Path(state_dir) / "outbox"
    for path in outbox.glob("*.jsonl") if outbox.is_dir() else []:
        for entry in read_outbox(path)[0]:
            try:
                details.append(json.loads(entry["Detail"]) if isinstance(entry["Detail"], str) else entry["Detail"])
            except (TypeError, ValueError):
                continue
    moments = []
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get("occurred_at"), str):
            try:
                moments.append(parse_time(detail["occurred_at"]))
            except ValueError:
                continue
    if not moments or max(moments) < as_of:
        return as_of
    return max(moments) + timedelta(seconds=1)


def workflow_events(state_dir: Path, workflow_id: str) -> list[dict[str, Any]]:
    """The workflow's archived events that their producer recorded as published (shared/runtime/published_facts.py),
    in the order the bus took them: what a rerun redelivers, and dates itself after. Anything else put on the
    bus for the workflow (hand-made, edited, under another function's source) is no part of it: redelivered it
    would only be refused again, and its time, whatever the sender wrote, must not move the rerun's clock."""
    from alchemiser.local.storage import Archive
    from shared.events.catalog import producer_of, route_for
    from shared.runtime.published_facts import SqliteWorkflowFacts, verify

    archived = Archive(state_dir).of_workflow(workflow_id)
    facts = SqliteWorkflowFacts(Path(state_dir) / "state.sqlite") if archived else None
    kept = []
    for envelope in archived:
        route = route_for(str(envelope.get("detail-type")))
        try:
            producer = producer_of(str(envelope.get("source")))
            event = route.model.model_validate(envelope.get("detail")) if route is not None else None
        except ValueError:  # another source, or not even the event it claims to be (pydantic errors are ValueErrors)
            continue
        if event is not None and facts is not None and \
                verify(facts, producer, event, event.event_id, event.correlation_id) is None:
            kept.append(envelope)
    return kept


def run_record(options: DayOptions, as_of: datetime) -> dict[str, Any]:
    """What `replay` and `dlq redrive` need to run a workflow's events with the same configuration."""
    return {"broker": options.broker, "data": options.data, "as_of": as_of.isoformat(),
            "strategy_config": str(options.strategy_config) if options.strategy_config else None}


def _from_record(result: DayResult, recorded: tuple[str, str]) -> None:
    """The workflow's recorded status decides; the events only explain it."""
    status, reason = recorded
    if status in ("completed", "failed", "skipped"):
        if result.status == "duplicate" and status == "completed":
            return
        result.status = status
        result.reason = reason or ("workflow completed" if status == "completed" else status)
    elif result.status not in ("duplicate",):
        from services.orchestrator.workflow_record import WAITING_ON

        step = WAITING_ON.get(status, status)
        result.status = "incomplete"
        result.reason = (f"the workflow is at '{status}', waiting on the {step} step"
                         + (" (see the dead-letter queue)" if result.dead_lettered else ""))
        if status == "settling":
            result.reason = ("the outcome of some orders is unknown (the broker said they exist, no look-up returned "
                             "them in time): the workflow stays open until the stuck check settles it from the "
                             "broker's book: `alchemiser invoke orchestrator --event stuck-check.json` with "
                             '{"action": "check_stuck_workflows"}')


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
