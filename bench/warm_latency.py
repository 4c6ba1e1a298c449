"""Warm latency per handler, in process, with the embedded adapters; and the middleware's own cost.

Each handler runs in local mode (ALCHEMISER_BACKEND=local, a temporary state dir, the simulated
broker and offline data, the clock fixed at 2026-11-25 09:36 New York), with the function's
environment from the template, a fake Lambda context, and its logs and EMF metrics written to a
file as the local runtime does. One untimed warm-up invocation builds the container's adapters;
then every invocation is timed. Events (test-events/, as EventBridge delivers them):

- strategy `{"mode": "signal"}`: evaluate every strategy, publish nothing;
- strategy `{"mode": "trade", "correlation_id": <new>}`: a real run each time (calendar, idempotency
  record, evaluation, WorkflowStarted + SignalGenerated to the outbox). A repeated plain
  `{"mode": "trade"}` would answer `duplicate` from the second call on, which is not typical;
- portfolio: the sample SignalGenerated with a new event id and correlation id each time, so
  each is a real plan against the simulated account;
- execution: the sample RebalancePlanned with a new plan id and correlation id each time; the
  simulated account is reset between invocations (outside the timed region), so every
  invocation places the sample's three orders on the account the plan was made for instead of
  breaking risk limits on an account that already holds them;
- orchestrator: the sample TradeExecuted with a new correlation id each time: opens the
  workflow, completes it, stores the equity snapshot, notifies (the local notifier) and
  publishes WorkflowCompleted.

Middleware: `event_middleware` (with a Powertools Logger, as the handlers wire it) around a
no-op handler on the sample SignalGenerated envelope, against a bare
`SignalGenerated.model_validate(detail)`; batches alternate, the figure is the median per call.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alchemiser.local.runtime import environment
from bench.common import ROOT, Row, median, ms, percentile

SECTION = "warm latency"
MIDDLEWARE_TARGET = 2.0
AS_OF = "2026-11-25T09:36:00-05:00"
"""After the samples' events (14:35 UTC), so the portfolio's account snapshot is not older than the signal."""
EVENTS = ROOT / "test-events"


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


@dataclass(frozen=True)
class Case:
    service: str
    label: str
    event_for: Callable[[int], dict[str, Any]]
    expect: str
    """The status every timed invocation must answer (so a broken case cannot pass as fast)."""
    reset: Callable[[Path], None] | None = None


def _strategy_signal(_: int) -> dict[str, Any]:
    return {"mode": "signal"}


def _strategy_trade(i: int) -> dict[str, Any]:
    return {"mode": "trade", "correlation_id": f"bench-trade-{i}"}


def _with_detail(template: dict[str, Any], **changes: str) -> dict[str, Any]:
    event = copy.deepcopy(template)
    event["detail"].update(changes)
    return event


def _reset_simulated_account(state_dir: Path) -> None:
    """A fresh $100,000 account and a fresh day's turnover budget before each timed plan."""
    db = state_dir / "broker" / "simulated.sqlite3"
    if db.exists():
        with contextlib.closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("DELETE FROM simulated_accounts")
    state = state_dir / "state.sqlite"
    if state.exists():
        with contextlib.closing(sqlite3.connect(state)) as conn, conn:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'execution_turnover'").fetchone():
                conn.execute("DELETE FROM execution_turnover")


def cases() -> list[Case]:
    signal, plan, executed = sample("signal-generated.json"), sample("rebalance-planned.json"), \
        sample("trade-executed.json")
    return [
        Case("strategy", 'strategy, {"mode": "signal"}', _strategy_signal, "success"),
        Case("strategy", 'strategy, {"mode": "trade"}, a new correlation id each time', _strategy_trade, "success"),
        Case("portfolio", "portfolio, SignalGenerated (a new workflow each time)",
             lambda i: _with_detail(signal, event_id=f"bench-signal-{i}", correlation_id=f"bench-run-{i}"),
             "success"),
        Case("execution", "execution, RebalancePlanned (3 orders, simulated broker)",
             lambda i: _with_detail(plan, plan_id=f"bench-plan-{i}", correlation_id=f"bench-run-{i}"),
             "success", reset=_reset_simulated_account),
        Case("orchestrator", "orchestrator, TradeExecuted (completes a workflow)",
             lambda i: _with_detail(executed, correlation_id=f"bench-run-{i}"), "success"),
    ]




def _record_as_published(event: dict[str, Any], state_dir: Path) -> None:
    """Record a bench event as its producer would have (the consumer acts only on recorded events)."""
    from shared.runtime.published_facts import SqliteWorkflowFacts
    from tests.fakes.facts import record_published

    if event.get("detail-type"):
        record_published(event, SqliteWorkflowFacts(state_dir / "state.sqlite"))


def time_handler(case: Case, invocations: int, state_dir: Path) -> list[float]:
    """Seconds per invocation (warm: one untimed invocation first)."""
    from alchemiser.local.context import FakeLambdaContext
    from alchemiser.local.runtime import resolve_handler
    from alchemiser.local.template import load_template

    spec = load_template().function_for(case.service)
    env = {**spec.environment, "ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(state_dir),
           "ALCHEMISER_AS_OF": AS_OF, "AWS_LAMBDA_FUNCTION_NAME": spec.physical_name}
    handler = resolve_handler(spec.handler)
    times: list[float] = []
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with environment(env), (logs / f"{case.service}.log").open("a", encoding="utf-8") as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        for i in range(invocations + 1):
            if case.reset is not None:
                case.reset(state_dir)
            event, context = case.event_for(i), FakeLambdaContext.for_function(spec)
            _record_as_published(event, state_dir)  # the producer's record, outside the timed call
            start = time.perf_counter()
            response = handler(event, context)
            elapsed = time.perf_counter() - start
            status = response.get("status") if isinstance(response, dict) else None
            if status != case.expect:
                raise RuntimeError(f"{case.label}: invocation {i} answered {status!r}, expected {case.expect!r}: "
                                   f"{response}")
            if i > 0:
                times.append(elapsed)
    return times


@dataclass(frozen=True)
class MiddlewareTimes:
    wrapped: float
    """event_middleware around a no-op handler, seconds per event."""
    bare: float
    """SignalGenerated.model_validate(detail) alone."""


def middleware_times(calls: int = 5000, batches: int = 20) -> MiddlewareTimes:
    """Median seconds per call over alternating batches."""
    from shared.events.catalog import PORTFOLIO
    from shared.events.middleware import Incoming, event_middleware
    from shared.events.signal_generated import SignalGenerated
    from shared.runtime.observability import make_logger

    logger = make_logger("bench")

    @event_middleware(consumer=PORTFOLIO, logger=logger, metrics=None)  # type: ignore[misc]
    def no_op(incoming: Incoming, context: Any) -> dict[str, Any]:
        return {}

    envelope = sample("signal-generated.json")
    detail = envelope["detail"]
    per_batch = max(1, calls // batches)
    candidates: dict[str, Callable[[], object]] = {
        "wrapped": lambda: no_op(envelope, None),
        "bare": lambda: SignalGenerated.model_validate(detail),
    }
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for run in candidates.values():  # warm each
        run()
    for _ in range(batches):
        for name, run in candidates.items():
            start = time.perf_counter()
            for _ in range(per_batch):
                run()
            times[name].append((time.perf_counter() - start) / per_batch)
    return MiddlewareTimes(**{name: median(values) for name, values in times.items()})


def rows(invocations: int = 1000, middleware_calls: int = 5000) -> list[Row]:
    gc.collect()  # the middleware first, on a clean heap: the handlers' caches would add GC time to it
    mw = middleware_times(middleware_calls)
    out = []
    for case in cases():
        state_dir = Path(tempfile.mkdtemp(prefix="alchemiser-bench-"))
        try:
            times = time_handler(case, invocations, state_dir)
        finally:
            shutil.rmtree(state_dir, ignore_errors=True)
        out.append(Row(SECTION, f"{case.label} (n={len(times)})",
                       f"median {ms(median(times))}, p99 {ms(percentile(times, 99))}"))
    value = mw.wrapped / mw.bare
    out.append(Row(SECTION, "middleware on the sample SignalGenerated envelope (no-op handler), per event",
                   ms(mw.wrapped), f"{ms(mw.bare)} (bare SignalGenerated.model_validate)", value,
                   f"≤ {MIDDLEWARE_TARGET:g}", value <= MIDDLEWARE_TARGET))
    return out
