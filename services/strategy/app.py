"""The strategy use cases: a command (LambdaEvent) in -> the day's run started, or signals shown.

`mode: "trade"` (`start_trading_day`), in this order:
1. a command with `action` set belongs to the orchestrator: `failed`, nothing done;
2. the trading date is the clock's New York date; no session that day -> `skipped` with the
   reason ("market closed on 2026-11-26 (Thursday): holiday"), nothing published;
3. the workflow id is the command's `correlation_id`, else `run-<date>-<mode>`;
4. once per workflow id (idempotency record): a repeat is `duplicate` and publishes nothing;
5. load the portfolio, read one price history for all its symbols ending on the previous
   session (see workflow.py), refuse stale data, evaluate every strategy on one indicator
   cache, net them;
6. publish WorkflowStarted then SignalGenerated (one call, in that order) -> `success`.
A strategy, portfolio-file or market-data problem, or stale data, ends the run failed: it
publishes WorkflowStarted + WorkflowFailed(step "strategy") and answers `failed`; that answer is
stored like a success, so a redelivery is a duplicate. Infrastructure errors (the bus, the
broker's calendar, the network, the secret) raise: the idempotency record is released and
Lambda retries; a retry republishes the same event ids (causation = the command's id).

`mode: "signal"` (`evaluate_signals`): the same evaluation on the same data, returned with its
explanation; no idempotency, nothing published, and it answers on non-trading days too.

`mode: "plan"` (`plan_only`): the strategy side of today's run, dry: whether a workflow would start
(trading day, near-close timing) and with which id, the signals and target weights, the data's
freshness, the session's hours. No idempotency record, no workflow fact, nothing published.
Order sizes need the account and the portfolio planner (the portfolio function's code):
`alchemiser plan --broker alpaca --data alpaca` prints them, with the kill switch.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from services.strategy.dependencies import Dependencies
from services.strategy.language import Evaluation, IndicatorCache, StrategyError, evaluate
from services.strategy.netting import NetAllocation, net_allocations
from services.strategy.portfolio_config import PortfolioConfigError, StrategyEntry, StrategyPortfolio
from services.strategy.settings import StrategySettings
from services.strategy.workflow import (
    Trigger,
    closed_reason,
    command_id,
    command_moment,
    data_session,
    data_through,
    display_file,
    run_correlation_id,
    stale_reason,
    trigger_of,
)
from shared.events.base import EventContext
from shared.events.lambda_event import LambdaEvent
from shared.events.middleware import Incoming
from shared.events.publisher import EventTooLargeError
from shared.events.responses import Status, handler_response
from shared.events.signal_generated import SignalGenerated, StrategySignal
from shared.events.workflow_started import StrategyRef, WorkflowStarted
from shared.marketdata.port import MarketData, MarketDataError, PriceHistory, Session, with_today
from shared.runtime import metric_names
from shared.runtime.clock import trading_date
from shared.runtime.observability import count
from shared.runtime.workflow_facts import event_digest

logger = Logger(service="strategy", child=True)

EVENT_BUDGET_BYTES = 200_000
"""SignalGenerated is kept under this (EventBridge's limit is 256 KB): explanations are cut first."""
ORCHESTRATOR_FUNCTION = "alchemiser-orchestrator-{stage}"


# ---------------------------------------------------------------------------------------- evaluation


class StaleMarketData(Exception):
    """The history does not reach the session the run needs."""

    def __init__(self, data_as_of: date, needed: date) -> None:
        self.data_as_of, self.needed = data_as_of, needed
        super().__init__(stale_reason(data_as_of, needed))


@dataclass(frozen=True)
class StrategyOutcome:
    entry: StrategyEntry
    file: str
    """As events show it: relative to the portfolio file's folder."""
    evaluation: Evaluation


@dataclass(frozen=True)
class Signals:
    """Every strategy's answer on one price history, and their net."""

    portfolio: StrategyPortfolio
    data_day: date
    """The session whose closes the run needs."""
    data_as_of: date
    """The last day of the history actually read (== data_day unless stale data was allowed)."""
    outcomes: tuple[StrategyOutcome, ...]
    net: NetAllocation | None
    """None when some strategy failed (`failures`, collected only when asked): nothing to net."""
    evaluation_ms: float
    failures: tuple[StrategyFailure, ...] = ()
    synthetic: bool = False
    """The prices are generated (offline data), not real market data: every output says so."""
    latest_at: datetime | None = None
    """Composer's timing: the last day's bar is each symbol's latest trade at this moment."""

    @property
    def weights(self) -> dict[str, Decimal]:
        return self.net.weights if self.net is not None else {}

    @property
    def data_through(self) -> str:
        """"data through 2026-11-24 close" (with the synthetic label when it applies)."""
        return data_through(self.data_as_of, latest=self.latest_at, synthetic=self.synthetic)

    def as_dict(self, max_lines: int | None = None) -> dict[str, Any]:
        """JSON-ready: {"weights", "strategies": {name: {...}}, "as_of", "symbols"}; decimals as strings."""
        return {
            "weights": _strings(self.weights),
            "strategies": {
                o.entry.name: {
                    "file": o.file,
                    "allocation": str(o.entry.allocation),
                    "weights": _strings(o.evaluation.weights),
                    "rebalance_threshold": _text(o.entry.symphony.rebalance_threshold),
                    "explanation": list(_explanation(o.evaluation, max_lines)),
                }
                for o in self.outcomes
            },
            "as_of": self.data_as_of.isoformat(),
            "data_through": self.data_through,
            "synthetic": self.synthetic,
            "symbols": list(self.portfolio.symbols),
            **({"errors": {f.name: {"file": f.file, "error": f.reason} for f in self.failures}}
               if self.failures else {}),
        }


@dataclass(frozen=True)
class StrategyFailure:
    """One strategy that could not be evaluated (collected by `signals`, beside the others)."""

    name: str
    file: str
    reason: str


def history_window(portfolio: StrategyPortfolio) -> int:
    """Sessions of history a run evaluates on (ending on its data day): every strategy's lookback,
    and the reach back to the start of a rebalance period."""
    return portfolio.lookback_days + _rebalance_margin(portfolio) if portfolio.strategies else 1


def _rebalance_margin(portfolio: StrategyPortfolio) -> int:
    """Extra sessions of history so that each strategy's period start is inside the history."""
    from services.strategy.rebalance import MAX_SESSIONS_PER_PERIOD

    return max(MAX_SESSIONS_PER_PERIOD[e.symphony.rebalance_frequency] for e in portfolio.strategies)


def _evaluation_day(entry: StrategyEntry, dates: Any) -> date | None:
    """The day the strategy decides on: its most recent rebalance day (None: the last day)."""
    frequency = entry.symphony.rebalance_frequency
    if frequency in ("daily", "none"):
        return None
    from services.strategy.rebalance import rebalance_day

    return rebalance_day(frequency, dates[-1], dates)


def evaluate_signals(portfolio: StrategyPortfolio, market_data: MarketData, data_day: date, *,
                     require_fresh: bool = True, collect_errors: bool = False,
                     failures: Iterable[StrategyFailure] = (), today: Session | None = None,
                     latest_at: datetime | None = None) -> Signals:
    """One PriceHistory for the union of symbols (the longest lookback) ending on `data_day`, every
    strategy evaluated on one shared IndicatorCache, then netted. A strategy with a rebalance
    frequency other than daily is evaluated as of its most recent rebalance day
    (services/strategy/rebalance.py), on the same history.

    Raises StrategyError, MarketDataError, StaleMarketData (unless `require_fresh` is off). With
    `collect_errors` (the `signals` command), a strategy's StrategyError or MarketDataError is
    recorded in `Signals.failures` beside the others' results (`failures` adds those found while
    loading) and nothing is netted when any failed.

    With `today` and `latest_at` (Composer's timing), each symbol's latest trade at `latest_at`
    (the market data's `latest_prices`) is appended as `today`'s bar after `data_day`'s closes.
    """
    base = portfolio.source.parent
    found = list(failures)
    lookback = history_window(portfolio)
    try:
        history = market_data.history(portfolio.symbols, data_day, lookback)
        histories = dict.fromkeys((e.name for e in portfolio.strategies), history)
    except MarketDataError:
        if not collect_errors:
            raise
        history, histories = None, {}
        for entry in portfolio.strategies:  # one history per strategy: name the ones without data
            try:
                own = market_data.history(entry.symphony.symbols, data_day, lookback)
            except MarketDataError as exc:
                found.append(StrategyFailure(entry.name, display_file(entry.file, base), f"market data: {exc}"))
                continue
            histories[entry.name] = own
            history = history or own
    as_of = history.as_of if history is not None else data_day
    if require_fresh and as_of < data_day:
        raise StaleMarketData(as_of, data_day)
    if today is not None and latest_at is not None and history is not None:
        latest = getattr(market_data, "latest_prices", None)
        if latest is None:
            raise MarketDataError(f"near-close evaluation needs latest trades, which {market_data!r} does not have; "
                                  "use Alpaca data (or the offline source, which simulates them)")
        prices = latest(portfolio.symbols, latest_at)
        extended: dict[int, PriceHistory] = {}
        histories = {name: extended.setdefault(id(h), with_today(h, today.date, prices)) if id(h) not in extended
                     else extended[id(h)] for name, h in histories.items()}
        history = next(iter(histories.values()), history)
        as_of = today.date
    started = time.perf_counter()
    caches: dict[int, IndicatorCache] = {}
    outcomes: list[StrategyOutcome] = []
    for entry in portfolio.strategies:
        if entry.name not in histories:
            continue
        own = histories[entry.name]
        cache = caches.setdefault(id(own), IndicatorCache())
        try:
            evaluation = evaluate(entry.symphony, own, cache, on=_evaluation_day(entry, own.dates))
        except StrategyError as exc:
            if not collect_errors:
                raise
            found.append(StrategyFailure(entry.name, display_file(entry.file, base), str(exc)))
            continue
        outcomes.append(StrategyOutcome(entry, display_file(entry.file, base), evaluation))
    net = None
    if not found:
        net = net_allocations([(o.entry.name, o.entry.allocation, o.evaluation) for o in outcomes])
    elapsed_ms = (time.perf_counter() - started) * 1000
    synthetic = bool(getattr(market_data, "synthetic", False))
    return Signals(portfolio, data_day, as_of, tuple(outcomes), net, elapsed_ms, tuple(found), synthetic,
                   latest_at if today is not None else None)


def _explanation(evaluation: Evaluation, max_lines: int | None) -> tuple[str, ...]:
    if max_lines is None:
        return tuple(evaluation.render().splitlines())
    return evaluation.summary_lines(max_lines)


def _strings(weights: Mapping[str, Decimal]) -> dict[str, str]:
    return {symbol: str(weight) for symbol, weight in weights.items()}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------- failures


@dataclass(frozen=True)
class Failure:
    """Why a run fails closed (the WorkflowFailed it publishes)."""

    error_type: str
    reason: str
    details: dict[str, str] = field(default_factory=dict)


def is_transient(exc: MarketDataError) -> bool:
    """A market-data error caused by the network or an overloaded server (retry), not by the request."""
    cause = exc.__cause__ or exc.__context__
    if cause is None:
        return False
    status = getattr(cause, "status_code", None)
    if isinstance(status, int):
        return status in (408, 429) or status >= 500
    return isinstance(cause, OSError)  # requests' errors are OSErrors; so are timeouts and refused connections


def failure_of(exc: BaseException) -> Failure | None:
    """The fail-closed reason for a user-caused or data problem; None for an infrastructure error."""
    if isinstance(exc, StrategyError):
        return Failure("StrategyError", str(exc),
                       {"file": exc.file, "line": str(exc.line), "column": str(exc.column)})
    if isinstance(exc, PortfolioConfigError):
        return Failure("PortfolioConfigError", str(exc))
    if isinstance(exc, StaleMarketData):
        return Failure("StaleMarketData", str(exc),
                       {"data_as_of": exc.data_as_of.isoformat(), "needed": exc.needed.isoformat()})
    if isinstance(exc, MarketDataError) and not is_transient(exc):
        return Failure("MarketDataError", f"market data: {exc}")
    return None


# ---------------------------------------------------------------------------------------- responses


def respond(status: Status, mode: str, settings: StrategySettings, message: str, *, request_id: str | None,
            correlation_id: str | None, published: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    """The console's fields first (status, mode, trading_mode, message), then the common ones."""
    body = handler_response(status, message, published=published, correlation_id=correlation_id,
                            request_id=request_id, **extra)
    return {"status": status, "mode": mode, "trading_mode": settings.trading_mode, **body}


def handle(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    command = incoming.command
    if command is None:
        raise TypeError("the strategy function takes commands (LambdaEvent), not domain events")
    request_id = getattr(context, "aws_request_id", None)
    settings = deps.settings
    if command.action is not None:
        function = ORCHESTRATOR_FUNCTION.format(stage=settings.stage)
        message = (f"action '{command.action}' is handled by the orchestrator function ({function}), not by the "
                   "strategy function; nothing was done")
        logger.warning(message)
        return respond("failed", command.mode, settings, message, request_id=request_id,
                       correlation_id=command.correlation_id)
    if command.mode == "signal":
        return signal_only(command, deps, request_id=request_id, metrics=metrics)
    if command.mode == "plan":
        return plan_only(command, deps, request_id=request_id, metrics=metrics)
    return start_trading_day(incoming, deps, context=context, metrics=metrics)


# ---------------------------------------------------------------------------------------- trade


@dataclass(frozen=True)
class Run:
    correlation_id: str
    context: EventContext
    trigger: Trigger
    day: date
    data_day: date
    now: datetime
    request_id: str | None
    today: Session | None = None
    """Composer's timing: the session whose latest trades (at `now`) are today's bar."""


def near_close(settings: StrategySettings, session: Session | None, now: datetime) -> tuple[str | None, Session | None]:
    """Composer's timing (`evaluation_timing = "near-close"`): (why this firing is skipped, or None;
    the session whose latest trades are today's bar, or None). Previous-close timing: (None, None)."""
    if settings.evaluation_timing != "near-close" or session is None or now >= session.close:
        return None, None
    from datetime import timedelta

    decide = session.close - timedelta(minutes=settings.near_close_minutes)
    if now < decide - timedelta(minutes=settings.near_close_window_minutes):
        from shared.runtime.clock import NEW_YORK

        close = session.close.astimezone(NEW_YORK)
        return (f"near-close timing: today's run decides at {decide.astimezone(NEW_YORK):%H:%M} New York, "
                f"{settings.near_close_minutes} minutes before the {close:%H:%M} close; this firing at "
                f"{now.astimezone(NEW_YORK):%H:%M} is early"), None
    return None, session


def start_trading_day(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    command = incoming.command
    assert command is not None
    settings = deps.settings
    request_id = getattr(context, "aws_request_id", None)
    now = settings.now()
    day = trading_date(now)
    session = deps.calendar.session(day)
    if session is None:
        reason = closed_reason(day)
        count(metrics, metric_names.WORKFLOWS_SKIPPED)
        logger.info("no trading session today; no workflow started", extra={"reason": reason})
        return respond("skipped", "trade", settings, f"{reason}; no workflow started, nothing published",
                       request_id=request_id, correlation_id=command.correlation_id,
                       trading_date=day.isoformat(), reason=reason)
    early, today = near_close(settings, session, now)
    if early is not None:
        logger.info("near-close timing: not yet", extra={"reason": early})
        return respond("skipped", "trade", settings, f"{early}; no workflow started, nothing published",
                       request_id=request_id, correlation_id=command.correlation_id,
                       trading_date=day.isoformat(), reason=early)
    previous = data_session(deps.calendar, command_moment(incoming.delivery.time, now))
    correlation_id = command.correlation_id or run_correlation_id(day, settings.trading_mode)
    cause = command_id(incoming.delivery.envelope_id, request_id)
    run = Run(correlation_id, EventContext.for_command(correlation_id, cause, settings.trading_mode),
              trigger_of(incoming.delivery.kind), day, previous.date, now, request_id, today)
    once = deps.idempotency.run(correlation_id, lambda: run_workflow(run, deps, metrics), context=context)
    if not once.duplicate:
        return once.result
    return _duplicate(run, once.result, settings, metrics)


def _duplicate(run: Run, first: dict[str, Any], settings: StrategySettings, metrics: Any) -> dict[str, Any]:
    count(metrics, metric_names.DUPLICATES_SUPPRESSED)
    first_status = first.get("status", "unknown")
    logger.info("this workflow was already started; nothing republished",
                extra={"correlation_id": run.correlation_id, "first_status": first_status,
                       "first_request_id": first.get("request_id")})
    return respond(
        "duplicate", "trade", settings,
        f"workflow {run.correlation_id} was already started ({first_status}: {first.get('message', '')}); "
        "nothing published. To start another run, send a command with its own correlation_id.",
        request_id=run.request_id, correlation_id=first.get("correlation_id") or run.correlation_id,
        trading_date=first.get("trading_date", run.day.isoformat()), first_status=first_status,
        first_request_id=first.get("request_id"),
    )


def run_workflow(run: Run, deps: Dependencies, metrics: Any = None) -> dict[str, Any]:
    """Steps 5-7, the effect run once per workflow id."""
    portfolio: StrategyPortfolio | None = None
    try:
        portfolio = deps.portfolio()
        signals = evaluate_signals(portfolio, deps.market_data, run.data_day, today=run.today, latest_at=run.now)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        return _fail_closed(run, failure, portfolio, deps)
    _record_evaluation(metrics, signals)
    settings = deps.settings
    started = started_event(run, signals.portfolio, settings)
    signal = fitted_signal_event(run, signals, settings.max_explanation_lines)
    # Recorded before publishing: the portfolio plans only a signal the strategy recorded (workflow_facts.py).
    deps.facts.record("strategy", run.correlation_id, signal.event_id, event_digest(signal))
    try:
        published = deps.publisher_for(run.request_id or run.correlation_id).publish([started, signal])
    except EventTooLargeError as exc:
        return _fail_closed(run, Failure("SignalTooLarge", f"SignalGenerated does not fit in one event: {exc}"),
                            signals.portfolio, deps)
    count(metrics, metric_names.SIGNALS_GENERATED)
    weights = signals.weights
    logger.info("signal published", extra={"correlation_id": run.correlation_id,
                                           "data_as_of": signals.data_as_of.isoformat(),
                                           "target_weights": _strings(weights), "strategies": len(signals.outcomes)})
    title = "Live" if settings.trading_mode == "live" else "Paper"
    message = (f"{title} trading workflow {run.correlation_id} started: {len(signals.outcomes)} strategies → "
               f"{len(weights)} symbols on {signals.data_through}; signal published")
    return respond("success", "trade", settings, message, request_id=run.request_id,
                   correlation_id=run.correlation_id, published=published, trading_date=run.day.isoformat(),
                   data_as_of=signals.data_as_of.isoformat(), target_weights=_strings(weights),
                   event_ids={"WorkflowStarted": started.event_id, "SignalGenerated": signal.event_id})


def _record_evaluation(metrics: Any, signals: Signals) -> None:
    if metrics is not None:
        metrics.add_metric(name=metric_names.STRATEGY_EVALUATION_MS, unit=MetricUnit.Milliseconds,
                           value=round(signals.evaluation_ms, 3))


def _fail_closed(run: Run, failure: Failure, portfolio: StrategyPortfolio | None,
                 deps: Dependencies) -> dict[str, Any]:
    """Publish WorkflowStarted + WorkflowFailed with the reason; nothing else happens today."""
    from shared.events.workflow_failed import WorkflowFailed  # the failure path only

    settings = deps.settings
    started = started_event(run, portfolio, settings)
    failed = WorkflowFailed.create(run.context, occurred_at=run.now, step="strategy", reason=failure.reason,
                                   error_type=failure.error_type, details=dict(failure.details))
    published = deps.publisher_for(run.request_id or run.correlation_id).publish([started, failed])
    logger.warning("workflow failed at the strategy step",
                   extra={"correlation_id": run.correlation_id, "error_type": failure.error_type,
                          "reason": failure.reason})
    return respond("failed", "trade", settings, f"workflow {run.correlation_id} failed: {failure.reason}",
                   request_id=run.request_id, correlation_id=run.correlation_id, published=published,
                   trading_date=run.day.isoformat(), error_type=failure.error_type, reason=failure.reason)


def started_event(run: Run, portfolio: StrategyPortfolio | None, settings: StrategySettings) -> WorkflowStarted:
    refs: tuple[StrategyRef, ...] = ()
    if portfolio is not None:
        base = portfolio.source.parent
        refs = tuple(StrategyRef(name=e.name, file=display_file(e.file, base), allocation=e.allocation)
                     for e in portfolio.strategies)
    return WorkflowStarted.create(run.context, occurred_at=run.now, trigger=run.trigger, trading_date=run.day,
                                  as_of=run.now, stage=settings.stage, strategies=refs)


def signal_event(run: Run, signals: Signals, max_lines: int) -> SignalGenerated:
    strategies = tuple(
        StrategySignal(name=o.entry.name, file=o.file, allocation=o.entry.allocation,
                       weights=dict(o.evaluation.weights), rebalance_threshold=o.entry.symphony.rebalance_threshold,
                       explanation=o.evaluation.summary_lines(max_lines))
        for o in signals.outcomes
    )
    return SignalGenerated.create(run.context, occurred_at=run.now, trading_date=run.day,
                                  data_as_of=signals.data_as_of, target_weights=dict(signals.weights),
                                  strategies=strategies, symbols=signals.portfolio.symbols)


def fitted_signal_event(run: Run, signals: Signals, max_lines: int) -> SignalGenerated:
    """The event with as many explanation lines (up to `max_lines`) as keep it under the budget."""
    event = signal_event(run, signals, max_lines)
    while len(event.model_dump_json().encode()) > EVENT_BUDGET_BYTES and max_lines > 1:
        max_lines = max(1, max_lines // 2)
        event = signal_event(run, signals, max_lines)
    return event


# ---------------------------------------------------------------------------------------- signal only


def signal_only(command: LambdaEvent, deps: Dependencies, *, request_id: str | None,
                metrics: Any = None) -> dict[str, Any]:
    """Evaluate as today's run would (any day), publish nothing."""
    settings = deps.settings
    now = settings.now()
    day = trading_date(now)
    data_day = data_session(deps.calendar, now).date
    _, today = near_close(settings, deps.calendar.session(day), now)
    try:
        signals = evaluate_signals(deps.portfolio(), deps.market_data, data_day, today=today, latest_at=now)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        return respond("failed", "signal", settings, failure.reason, request_id=request_id,
                       correlation_id=command.correlation_id, error_type=failure.error_type,
                       trading_date=day.isoformat())
    _record_evaluation(metrics, signals)
    body = signals.as_dict(settings.max_explanation_lines)
    message = (f"Signal only (nothing published): {len(signals.outcomes)} strategies → {len(signals.weights)} "
               f"symbols on {signals.data_through}")
    return respond("success", "signal", settings, message, request_id=request_id,
                   correlation_id=command.correlation_id, trading_date=day.isoformat(), **body)


# ---------------------------------------------------------------------------------------- plan (dry run)

PLAN_SIZING = ("order sizes need the account and the portfolio planner (the portfolio function): run "
               "`alchemiser plan --broker alpaca --data alpaca` for target vs current per symbol, the orders "
               "with their sizes, what is skipped, buying power net of open orders and the kill switch")


def plan_only(command: LambdaEvent, deps: Dependencies, *, request_id: str | None,
              metrics: Any = None) -> dict[str, Any]:
    """What `mode: "trade"` would do now, without doing any of it (see the module docstring)."""
    settings = deps.settings
    now = settings.now()
    day = trading_date(now)
    session = deps.calendar.session(day)
    data_day = data_session(deps.calendar, now).date
    early, today = near_close(settings, session, now)
    would_start = session is not None and early is None
    checks: list[dict[str, Any]] = [
        {"check": "trading day", "ok": session is not None,
         "detail": (f"a session: {_clock_detail(session, now)}" if session is not None
                    else f"{closed_reason(day)}: the run would start no workflow")},
        {"check": "market clock", "ok": session is not None and session.open <= now < session.close,
         "detail": _clock_detail(session, now)},
    ]
    if early is not None:
        checks.append({"check": "evaluation timing", "ok": False, "detail": early})
    correlation_id = command.correlation_id or run_correlation_id(day, settings.trading_mode)
    try:
        signals = evaluate_signals(deps.portfolio(), deps.market_data, data_day, require_fresh=False,
                                   today=today, latest_at=now)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        return respond("failed", "plan", settings, f"the run would fail at the strategy step: {failure.reason}",
                       request_id=request_id, correlation_id=correlation_id, trading_date=day.isoformat(),
                       error_type=failure.error_type, checks=checks, placed=0)
    _record_evaluation(metrics, signals)
    fresh = signals.data_as_of >= data_day
    checks.append({"check": "data freshness", "ok": fresh,
                   "detail": f"last bar {signals.data_as_of.isoformat()}, the run needs {data_day.isoformat()}"
                             + ("" if fresh else ": the run would fail closed as stale")})
    checks.append({"check": "kill switch", "ok": None,
                   "detail": "read by the execution function before each order leg; shown by "
                             "`alchemiser status --stage` and `alchemiser plan`"})
    verdict = ("would start workflow " + correlation_id if would_start and fresh
               else "would start no trading" if not would_start else "would fail closed (stale data)")
    message = (f"Dry run (nothing published or recorded): {verdict}; {len(signals.outcomes)} strategies → "
               f"{len(signals.weights)} symbols on {signals.data_through}")
    return respond("success", "plan", settings, message, request_id=request_id, correlation_id=correlation_id,
                   trading_date=day.isoformat(), data_day=data_day.isoformat(), would_start=would_start and fresh,
                   placed=0, checks=checks, order_sizing=PLAN_SIZING, **signals.as_dict(settings.max_explanation_lines))


def _clock_detail(session: Session | None, now: datetime) -> str:
    """The session's hours against now, in New York time."""
    from shared.runtime.clock import NEW_YORK

    at = now.astimezone(NEW_YORK).isoformat()
    if session is None:
        return f"closed all day at {at}"
    opens, closes = session.open.astimezone(NEW_YORK).isoformat(), session.close.astimezone(NEW_YORK).isoformat()
    if now < session.open:
        return f"closed at {at}; opens {opens} (orders would wait for the open)"
    if now >= session.close:
        return f"closed at {at}; the session closed {closes}"
    return f"open at {at}; closes {closes}"
