"""Builders and fakes for the execution tests (and bench/fault_execution.py): plans, deliveries,
a simulated clock, a simulated broker that is always in session, and a broker wrapper that
injects the faults a real broker connection has (lost replies, refused POSTs, flaky look-ups, crashes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.execution.dependencies import Dependencies
from services.execution.kill_switch import KillSwitch
from services.execution.placer import Timing
from services.execution.settings import ExecutionSettings
from services.execution.sqlite_turnover_ledger import SqliteTurnoverLedger
from services.execution.sqlite_workflow_guard import SqliteWorkflowGuard
from shared.broker.port import (
    Broker,
    BrokerUnavailable,
    DuplicateClientOrderId,
    Order,
    OrderRejected,
    OrderRequest,
    RateLimited,
)
from shared.events.envelope import open_envelope
from shared.events.middleware import Incoming, parse_delivery
from shared.events.rebalance_planned import AccountSnapshot, PlannedOrder, PlanParameters, RebalancePlanned
from shared.events.trade_executed import TradeExecuted
from shared.limits.model import Limits
from shared.marketdata.port import Session
from shared.runtime.idempotency import IdempotentOperation, SqlitePersistenceLayer
from shared.runtime.published_facts import SqliteWorkflowFacts, event_digest
from shared.venues.simulated.broker import SimulatedBroker
from shared.venues.simulated.faults import SimFaults
from tests.fakes.in_memory import FixedKillSwitch, InMemoryPublisher
from tests.fakes.sim_clock import SimClock

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
PRICES = {"SPY": Decimal("500"), "QQQ": Decimal("430"), "TQQQ": Decimal("60"), "SQQQ": Decimal("10"),
          "BIL": Decimal("91.5"), "TLT": Decimal("92"), "GLD": Decimal("190"), "AAPL": Decimal("190"),
          "BRK.A": Decimal("600")}


# ---- plans -------------------------------------------------------------------------------------

def buy(symbol: str, *, notional: str | None = None, qty: str | None = None, fractionable: bool = True,
        price: str | None = None) -> PlannedOrder:
    ref = Decimal(price) if price else PRICES.get(symbol, Decimal("100"))
    amount = Decimal(notional) if notional else Decimal(qty or "0") * ref
    return PlannedOrder(symbol=symbol, side="buy", notional=Decimal(notional) if notional else None,
                        qty=Decimal(qty) if qty else None, reference_price=ref, estimated_value=amount,
                        attribution={"test": amount}, reason="test buy", fractionable=fractionable)


def sell(symbol: str, qty: str, *, price: str | None = None, full_exit: bool = False) -> PlannedOrder:
    ref = Decimal(price) if price else PRICES.get(symbol, Decimal("100"))
    value = Decimal(qty) * ref
    return PlannedOrder(symbol=symbol, side="sell", qty=Decimal(qty), reference_price=ref, estimated_value=value,
                        attribution={"test": -value}, reason="test sell", full_exit=full_exit)


def make_plan(orders: Sequence[PlannedOrder], *, plan_id: str = "plan-test-1", correlation_id: str = "wf-test-1",
              trading_date: date = TODAY, equity: str = "100000", trading_mode: str = "paper",
              limits: Limits | None = None) -> RebalancePlanned:
    """A plan as the portfolio publishes it; `limits`: the workflow's it carries (None: the function's own)."""
    return RebalancePlanned.model_validate({
        "event_id": f"evt-{plan_id}", "correlation_id": correlation_id, "causation_id": "signal-1",
        "occurred_at": NOW, "trading_mode": trading_mode, "hop_count": 2, "plan_id": plan_id,
        "signal_event_id": "signal-1", "trading_date": trading_date,
        "account": AccountSnapshot(status="ACTIVE", equity=Decimal(equity), cash=Decimal(equity),
                                   buying_power=Decimal(equity), positions=(), captured_at=NOW),
        "target_weights": {}, "current_weights": {}, "orders": tuple(orders),
        "parameters": PlanParameters(cash_reserve=Decimal("0.01"), min_trade_value=Decimal("10"),
                                     drift_band=Decimal("0.01")),
        "summary": "test plan", "limits": limits,
    })


def envelope(plan: RebalancePlanned, *, replay: str | None = None) -> dict[str, Any]:
    """The plan as RebalancePlannedRule delivers it (or an archive replay of it)."""
    event = {"version": "0", "id": f"env-{plan.plan_id}", "detail-type": "RebalancePlanned",
             "source": "alchemiser.portfolio", "account": "123456789012", "time": "2026-11-25T15:00:00Z",
             "region": "us-east-1", "resources": [], "detail": plan.model_dump(mode="json")}
    if replay:
        event["replay-name"] = replay
    return event


def incoming(plan: RebalancePlanned) -> Incoming:
    return parse_delivery(open_envelope(envelope(plan)), "execution")


@dataclass
class Context:
    remaining_ms: int = 120_000
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


# ---- brokers -----------------------------------------------------------------------------------

class AlwaysOpen:
    """A calendar whose every day is a regular session (for the simulated broker)."""

    def session(self, day: date) -> Session | None:
        start = datetime.combine(day, time(14, 30), UTC)
        return Session(day, start, start + timedelta(hours=6, minutes=30))

    def previous_session(self, day: date) -> Session:
        session = self.session(day - timedelta(days=1))
        assert session is not None
        return session

    def latest_session(self, at: datetime) -> Session:
        session = self.session(at.date())
        assert session is not None
        return session


class ClosedCalendar(AlwaysOpen):
    def session(self, day: date) -> Session | None:
        return None if day == TODAY else super().session(day)


def sim_broker(state_dir: Path, *, cash: str = "100000", faults: SimFaults | None = None,
               non_fractionable: Sequence[str] = ("BRK.A",), calendar: Any = None,
               now: Callable[[], datetime] = lambda: NOW) -> SimulatedBroker:
    return SimulatedBroker(state_dir, lambda s: PRICES[s], calendar=calendar or AlwaysOpen(), now=now,
                           starting_cash=Decimal(cash), non_fractionable=non_fractionable, faults=faults)


def seed_positions(broker: Broker, holdings: dict[str, str]) -> None:
    """Buy positions directly (client order ids 'seed-...'), so a plan has something to sell."""
    for symbol, qty in holdings.items():
        broker.submit_order(OrderRequest(f"seed-{symbol}", symbol, "buy", qty=Decimal(qty)))


class Crash(BaseException):
    """The process dies (Lambda killed): not an Exception, so nothing cleans up after it."""


@dataclass
class FaultyBroker:
    """Wraps a broker. `submit_faults[coid]` (or by order of submission via `next_submit_faults`):
      lost_reply   the order is created, then BrokerUnavailable (a 504/timeout after acceptance)
      refused      BrokerUnavailable without creating it (a 5xx before acceptance)
      throttled    RateLimited without creating it (a 429)
      duplicate    created, then DuplicateClientOrderId (alpaca-py's own retry hit the 422)
      reject       OrderRejected without creating it
    `lookup_failures`: the next N get_order_by_client_id calls raise BrokerUnavailable.
    `crash_after_submissions`: raise Crash right after the k-th successful submit_order returns."""

    inner: Broker
    submit_faults: dict[str, str] = field(default_factory=dict)
    next_submit_faults: list[str] = field(default_factory=list)
    lookup_failures: int = 0
    crash_after_submissions: int | None = None
    submissions: int = 0
    posts: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        with self.lock:
            fail = self.lookup_failures > 0
            if fail:
                self.lookup_failures -= 1
        if fail:
            raise BrokerUnavailable(f"GET order {client_order_id}: HTTP 503 (injected)")
        return self.inner.get_order_by_client_id(client_order_id)

    def submit_order(self, request: OrderRequest) -> Order:
        with self.lock:
            self.posts.append(request.client_order_id)
            fault = self.submit_faults.pop(request.client_order_id, None)
            if fault is None and self.next_submit_faults:
                fault = self.next_submit_faults.pop(0) or None
        if fault in ("refused",):
            raise BrokerUnavailable(f"order {request.client_order_id}: HTTP 503 (injected); outcome unknown")
        if fault == "throttled":
            raise RateLimited(f"order {request.client_order_id}: HTTP 429 (injected); nothing created", retry_after=1.0)
        if fault == "reject":
            raise OrderRejected(f"order {request.client_order_id} rejected: HTTP 403 (injected)")
        order = self.inner.submit_order(request)
        if fault == "lost_reply":
            raise BrokerUnavailable(f"order {request.client_order_id}: HTTP 504 after create (injected)")
        if fault == "duplicate":
            raise DuplicateClientOrderId(f"order {request.client_order_id}: client_order_id must be unique (injected)")
        with self.lock:
            self.submissions += 1
            crash = self.crash_after_submissions is not None and self.submissions == self.crash_after_submissions
        if crash:
            raise Crash(f"crashed after submission {self.submissions}")
        return order


def make_deps(broker: Broker, state_dir: Path, *, kill_switch: KillSwitch | None = None,
              clock: SimClock | None = None, limits: Limits | None = None,
              publisher: InMemoryPublisher | None = None, fill_wait: float = 10.0, poll: float = 1.0,
              lookups: int = 3, now: Callable[[], datetime] = lambda: NOW,
              trading_mode: str = "paper") -> Dependencies:
    clock = clock or SimClock()
    publisher = publisher if publisher is not None else InMemoryPublisher("alchemiser.execution")
    return Dependencies(
        settings=ExecutionSettings(backend="local", state_dir=state_dir, trading_mode=trading_mode),  # type: ignore[arg-type]
        broker=broker,
        kill_switch=kill_switch or FixedKillSwitch("active"),
        guard=SqliteWorkflowGuard(state_dir / "state.sqlite", ttl_seconds=400 * 86400),
        plan_once=IdempotentOperation("execution-plan", SqlitePersistenceLayer(state_dir / "state.sqlite"),
                                      expires_after_seconds=7 * 86400),
        publisher_for=lambda _request_id: publisher,
        facts=SqliteWorkflowFacts(state_dir / "state.sqlite"),
        turnover=SqliteTurnoverLedger(state_dir / "state.sqlite"),
        limits=limits or Limits(),
        timing=Timing(fill_wait_seconds=fill_wait, poll_interval_seconds=poll, post_lookup_attempts=lookups,
                      post_lookup_delay_seconds=0.5),
        trading_mode=trading_mode,  # type: ignore[arg-type]
        now=now,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )


SIM_ACCOUNT = "SIM-paper"


def coid(symbol: str, side: str, leg: int = 0, *, correlation_id: str = "wf-test-1", trading_date: date = TODAY,
         mode: str = "paper", account_id: str = SIM_ACCOUNT) -> str:
    """The client order id of a test plan's leg (order_ids.py: from the workflow, never the plan id)."""
    from shared.broker.order_ids import WorkflowKey, client_order_id

    return client_order_id(WorkflowKey(trading_date, mode, account_id, correlation_id), symbol, side, leg)  # type: ignore[arg-type]


def record_plan(deps: Dependencies, plan: RebalancePlanned) -> RebalancePlanned:
    """What the portfolio records when it publishes `plan` (execution runs only recorded plans)."""
    deps.facts.record("portfolio", plan.correlation_id, plan.event_id, event_digest(plan))
    return plan


def published(deps: Dependencies) -> list[TradeExecuted]:
    publisher = deps.publisher_for("any")
    assert isinstance(publisher, InMemoryPublisher)
    return [e for e in publisher.events if isinstance(e, TradeExecuted)]
