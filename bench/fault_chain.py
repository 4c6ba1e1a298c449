"""Fault drill over the whole chain: seeded trading days under at-least-once delivery, crashes,
killed processes, adversarial redeliveries, a poison event and an error storm — counted against
the broker's own order book.

    .venv/bin/python bench/fault_chain.py --runs 1000 --seed 1

Each run trades one to three consecutive days in a fresh state directory through the real
handlers and the template's rules (alchemiser.local.day.run_day). A `Chaos` policy duplicates,
delays and reorders deliveries and makes invocations fail before the handler runs (transient) or
lose their response after all of the handler's effects (crash after effects: the same event is
retried). The simulated broker may reject orders or fill them in steps. A poison event (a
RebalancePlanned missing its plan id) and a storm of ErrorNotificationRequested are mixed into
the first day. One day of a run may also face an adversary:

- `refused_redelivery`: the kill switch is `halted`, the plan is refused; then the switch goes
  `active` and the day's RebalancePlanned is delivered again (a console resend, an archive replay);
- `second_plan`: right after the real plan, a second RebalancePlanned for the same workflow, with
  another plan id and one order less, is put on the bus;
- `kill_mid_plan`: the process dies (a BaseException, nothing cleans up) right after the k-th order
  submission; the day is then run again;
- `kill_before_publish`: the process dies after every order was placed, as the TradeExecuted is
  about to be published; the day is then run again.
Independently, the first order POSTs of a day may fail before the broker creates anything (a 503,
a 429 asking to retry shortly): the order must still be placed, once. And the first trading day may
get `forged events` (bench/forged_events.py): events no function published, sent to the orchestrator
before, during and after the run (hand-made failures and executions, a spoofed source, a real event
edited, the real events replayed); none may open, move or end a workflow, publish or notify (a false
terminal state), and the real day must trade as if nothing had been sent. And the account may hold
`never-held positions`: shares of symbols no strategy trades (AAPL, MSFT), bought by hand at the
broker the evening before the first day. Counted in the broker's own book: none of them may ever be
sold, unless the scenario sets manage_whole_account (then never more than the broker held).

The truth is the broker, not the code under test. After each day the drill reads the simulated
broker's persisted orders and account and compares them with the intents of every plan it saw for
the workflow (the published ones and any it injected):

- duplicated: orders beyond the legs of the one plan that best explains the broker's orders (two
  plans filled, a leg placed twice, an order from no plan);
- lost: a leg of that plan absent from the broker without an injected cause (a `reject` fault on
  its symbol, a refusal the drill caused, a buy the account could not afford any more);
- misreported: the final TradeExecuted names an order the broker does not have, omits one it has,
  or reports another filled quantity; orders exist for a workflow whose plan was refused; a day
  ended failed with no injected fault that explains it;
- stuck: the workflow is not completed, failed or skipped after the day (and its rerun);
- false terminal: anything the orchestrator did because of a forged event (bench/forged_events.py).

Every fault is counted from what happened — retried hops, duplicated first deliveries, handler runs
of the redelivered and the second plan, kills caught, orders refused or partly filled at the broker —
never from the fault policy's own counters; a fault kind the scenarios asked for that never
happened is itself a failure of the drill.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alchemiser.local.chaos import Chaos
from alchemiser.local.day import DayOptions, run_day, runtime_env
from alchemiser.local.runtime import CRASHED_AFTER_EFFECTS, Hop, LocalRuntime
from bench.forged_events import KIND as FORGED
from bench.forged_events import Forger, after_day, before_run
from shared.runtime.clock import NEW_YORK

DAYS = (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26))  # the 26th: holiday
HOLIDAYS = frozenset({date(2026, 11, 26)})
SYMBOLS = ("TQQQ", "SHY", "BIL", "VEA", "VWO", "XLF", "XLK", "GLD", "IEF", "DBC", "TLT", "VTI", "AGG")
ADVERSARIES = ("refused_redelivery", "second_plan", "kill_mid_plan", "kill_before_publish")
TERMINAL = ("completed", "failed", "skipped")
NEVER_HELD = "never-held positions"
HAND_BOUGHT = {"AAPL": Decimal(50), "MSFT": Decimal(20)}
"""Bought by the user by hand: no strategy of the drill trades these symbols."""
FAULT_KINDS = ("duplicate delivery", "delayed or reordered", "transient", "crash after effects", "broker reject",
               "partial fill",
               "post refused", "poison", "storm", *ADVERSARIES, FORGED, NEVER_HELD)


class KillProcess(BaseException):
    """The `alchemiser run` process is killed: not an Exception, so nothing in the chain catches it."""


@dataclass
class Scenario:
    seed: int
    days: tuple[date, ...]
    faults: dict[str, Any]
    poison: bool
    storm: int
    chaos: dict[str, float]
    adversary: str | None = None
    """One of ADVERSARIES, on the first trading day of the run."""
    kill_after: int = 1
    """kill_mid_plan: the process dies right after this many order submissions."""
    post_refusals: int = 0
    """The first trading day's first N order POSTs fail before the broker creates anything (503 / 429)."""
    forged: bool = False
    """The first trading day gets forged events to the orchestrator (bench/forged_events.py)."""
    hand_bought: bool = False
    """The account holds HAND_BOUGHT before the first day, bought by hand (never-held positions)."""
    whole_account: bool = False
    """With hand_bought: manage_whole_account = true, so the plan may sell them."""

    @property
    def kinds(self) -> set[str]:
        """The fault kinds this scenario asks for (each must then be seen to happen)."""
        kinds = {name for name, knob in (("duplicate delivery", "p_duplicate"), ("transient", "p_transient"),
                                         ("crash after effects", "p_crash_after")) if self.chaos.get(knob)}
        if self.chaos.get("p_delay") or self.chaos.get("p_reorder"):
            kinds.add("delayed or reordered")
        by_symbol = self.faults.get("by_symbol", {})
        kinds |= {"broker reject" if f["kind"] == "reject" else "partial fill" for f in by_symbol.values()}
        kinds |= {k for k, on in (("poison", self.poison), ("storm", self.storm)) if on}
        if self.adversary and any(d not in HOLIDAYS for d in self.days):
            kinds.add(self.adversary)
        if self.post_refusals and any(d not in HOLIDAYS for d in self.days):
            kinds.add("post refused")
        if self.forged and any(d not in HOLIDAYS for d in self.days):
            kinds.add(FORGED)
        if self.hand_bought and any(d not in HOLIDAYS for d in self.days):
            kinds.add(NEVER_HELD)
        return kinds


@dataclass
class DayRecord:
    """What the drill saw of one trading day, over every run of it (first run, rerun, redelivery)."""

    day: date
    statuses: list[str] = field(default_factory=list)
    correlation_id: str | None = None
    hops: list[Hop] = field(default_factory=list)
    runs: list[tuple[list[Hop], list[dict[str, Any]]]] = field(default_factory=list)
    """(hops, envelopes put on the bus) of each run of the day, apart (a rerun delivers the same events again,
    on purpose)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    injected_plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    """plan id -> detail of a plan the drill itself put on the bus."""
    injected_envelopes: set[str] = field(default_factory=set)
    refused_by_drill: bool = False
    """The drill halted the kill switch for this day's first run."""
    redelivery_envelopes: set[str] = field(default_factory=set)
    kills: int = 0
    forged_envelopes: set[str] = field(default_factory=set)
    """Envelopes the forger put on the bus: not the chain's, so no check reads them as its events."""


@dataclass
class Outcome:
    scenario: Scenario
    statuses: list[str] = field(default_factory=list)
    deliveries: int = 0
    applied: Counter[str] = field(default_factory=Counter)
    """Fault kind -> how many times it demonstrably happened."""
    retried_events: int = 0
    orders_planned: int = 0
    orders_at_broker: int = 0
    duplicated: int = 0
    lost: int = 0
    misreported: int = 0
    stuck: int = 0
    false_terminal: int = 0
    """What the orchestrator did because of a forged event (bench/forged_events.py)."""
    hand_bought_sold: Decimal = Decimal(0)
    """Shares of never-held positions sold while the system did not manage them (must stay 0)."""
    whole_account_sold: Decimal = Decimal(0)
    """Shares of them sold under manage_whole_account (allowed, never beyond what the broker held)."""
    poison_not_dead_lettered: int = 0
    storm_events_published: int = 0
    storm_notifications_wrong: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def duplicates_delivered(self) -> int:
        return self.applied["duplicate delivery"]

    @property
    def ok(self) -> bool:
        return not self.problems


def generate(seed: int) -> Scenario:
    rng = random.Random(seed)
    start = rng.randrange(0, 3)
    days = DAYS[start:start + rng.randint(1, 3)]
    faults: dict[str, Any] = {}
    for symbol in rng.sample(SYMBOLS, rng.randint(0, 2)):
        kind = rng.choice(["reject", "partial"])
        faults[symbol] = {"kind": kind, "steps": ["0.5", "1"]} if kind == "partial" else {"kind": kind}
    chaos = {"p_duplicate": rng.choice([0.0, 0.2, 0.5]), "p_delay": rng.choice([0.0, 0.2]),
             "p_reorder": rng.choice([0.0, 0.3, 0.6]), "p_transient": rng.choice([0.0, 0.1, 0.25]),
             "p_crash_after": rng.choice([0.0, 0.1, 0.25])}
    scenario = Scenario(seed, days, {"by_symbol": faults} if faults else {}, rng.random() < 0.5,
                        rng.choice([0, 0, 3, 10]), chaos)
    if rng.random() < 0.5:
        scenario.adversary = rng.choice(ADVERSARIES)
        scenario.kill_after = rng.randint(1, 4)
    if rng.random() < 0.25:
        scenario.post_refusals = rng.randint(1, 2)
    scenario.forged = rng.random() < 0.3  # drawn last: the seeds' other faults stay as they were
    scenario.hand_bought = rng.random() < 0.3  # after forged, for the same reason
    scenario.whole_account = scenario.hand_bought and rng.random() < 0.25
    return scenario


# ---- injections ----------------------------------------------------------------------------------

def _poison_entry(bus: str, seed: int) -> dict[str, Any]:
    detail = {"schema_version": 1, "event_id": f"poison-{seed}", "correlation_id": f"poison-{seed}",
              "causation_id": "nobody", "occurred_at": "2026-11-25T14:35:00Z", "trading_mode": "paper",
              "hop_count": 2}  # a RebalancePlanned with no plan, no orders, no account: bad input
    return {"Source": "alchemiser.portfolio", "DetailType": "RebalancePlanned", "Detail": json.dumps(detail),
            "EventBusName": bus}


def _storm_entries(bus: str, seed: int, count: int, state: Path) -> list[dict[str, Any]]:
    """A burst of the orchestrator's own error notifications (recorded as it records what it publishes:
    a hand-made one would be refused, bench/forged_events.py)."""
    from shared.events.error_notification_requested import ErrorNotificationRequested
    from shared.runtime.published_facts import SqliteWorkflowFacts
    from tests.fakes.facts import record_published

    facts = SqliteWorkflowFacts(state / "state.sqlite")
    entries = []
    for i in range(count):
        detail = {"event_id": f"storm-{seed}-{i}", "correlation_id": f"storm-{seed}", "occurred_at":
                  "2026-11-25T14:35:00Z", "error_type": "Storm", "error_message": f"storm marker {seed}-{i}"}
        record_published(ErrorNotificationRequested.model_validate(detail), facts, producer="orchestrator")
        entries.append({"Source": "alchemiser.orchestration", "DetailType": "ErrorNotificationRequested",
                        "Detail": json.dumps(detail), "EventBusName": bus})
    return entries


def second_plan(detail: dict[str, Any]) -> dict[str, Any]:
    """Another plan for the same workflow: a different plan id (and event id), one order less."""
    forged: dict[str, Any] = json.loads(json.dumps(detail))
    forged["plan_id"] = f"{detail['plan_id']}-second"
    forged["event_id"] = f"{detail['event_id']}-second"
    if len(forged.get("orders", [])) > 1:
        forged["orders"] = forged["orders"][:-1]
    return forged


class _SecondPlanInjector:
    """on_hop: as soon as the workflow's first plan is on the bus, put a second one next to it."""

    def __init__(self, record: DayRecord) -> None:
        self.record, self.done = record, False
        self.runtime: LocalRuntime | None = None

    def __call__(self, hop: Hop) -> None:
        if self.done or self.runtime is None or "RebalancePlanned" not in hop.published:
            return
        planned = [e for e in self.runtime.published if e["detail-type"] == "RebalancePlanned"
                   and e["detail"].get("plan_id")]
        if not planned:
            return
        self.done = True
        forged = second_plan(planned[-1]["detail"])
        self.record.injected_plans[forged["plan_id"]] = forged
        (envelope,) = self.runtime.put_events([{"Source": "alchemiser.portfolio", "DetailType": "RebalancePlanned",
                                                "Detail": json.dumps(forged),
                                                "EventBusName": self.runtime.template.bus_name}])
        self.record.injected_envelopes.add(envelope["id"])


@contextmanager
def killer(adversary: str | None, after_submissions: int, refusals: int = 0,
           seen: Counter[str] | None = None) -> Iterator[None]:
    """Kill the process (raise KillProcess) at the adversary's point: after the k-th order submission,
    or when execution is about to publish its TradeExecuted. Armed for one kill.

    `refusals`: the first that many order POSTs fail before the broker creates anything (a 503, a 429
    asking to retry shortly); each one that happens is counted in `seen["post refused"]`."""
    from shared.broker.port import BrokerUnavailable
    from shared.events.publisher import OutboxPublisher
    from shared.venues.simulated.broker import SimulatedBroker

    if adversary not in ("kill_mid_plan", "kill_before_publish") and not refusals:
        yield
        return
    armed = {"submissions": 0, "fired": False, "refused": 0}
    original_submit, original_publish = SimulatedBroker.submit_order, OutboxPublisher.publish

    def submit(self: Any, request: Any) -> Any:
        if armed["refused"] < refusals:
            armed["refused"] += 1
            if seen is not None:
                seen["post refused"] += 1
            raise BrokerUnavailable(f"POST order {request.client_order_id}: HTTP 503 (injected, nothing created)",
                                    retry_after=0.01)
        order = original_submit(self, request)
        armed["submissions"] += 1
        if adversary == "kill_mid_plan" and not armed["fired"] and armed["submissions"] == after_submissions:
            armed["fired"] = True
            raise KillProcess(f"killed right after order submission {after_submissions}")
        return order

    def publish(self: Any, events: Any) -> Any:
        if adversary == "kill_before_publish" and not armed["fired"] and armed["submissions"] and any(
                type(e).__name__ == "TradeExecuted" for e in events):
            armed["fired"] = True
            raise KillProcess("killed after placing the orders, before publishing TradeExecuted")
        return original_publish(self, events)

    SimulatedBroker.submit_order = submit  # type: ignore[method-assign]
    OutboxPublisher.publish = publish  # type: ignore[method-assign]
    try:
        yield
    finally:
        SimulatedBroker.submit_order = original_submit  # type: ignore[method-assign]
        OutboxPublisher.publish = original_publish  # type: ignore[method-assign]


# ---- the truth -------------------------------------------------------------------------------------

def _broker(state: Path, as_of: datetime) -> Any:
    from shared.venues.factory import make_broker
    from shared.venues.settings import BrokerSettings

    return make_broker(BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(state),
                                                "ALCHEMISER_AS_OF": as_of.isoformat()}))


def _workflow_status(state: Path, correlation_id: str) -> str | None:
    from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore

    stored = EmbeddedWorkflowStore(state / "state.sqlite").load(correlation_id)
    return None if stored is None else str(stored.record.status)


def apply_evidence(out: Outcome, hops: list[Hop], rec: DayRecord | None = None,
                   published: list[dict[str, Any]] | None = None) -> None:
    """Count the faults that demonstrably happened, from the hops of one run alone (and the order in which
    that run's events reached the bus: a first delivery of an event older than one already delivered was
    delayed or reordered)."""
    attempts = {(h.function, h.rule, h.event_id, h.attempt) for h in hops}
    retried = {(f, r, e) for f, r, e, a in attempts if a > 0}
    out.retried_events += len(retried)
    for h in hops:
        if h.error is None or (h.function, h.rule, h.event_id, h.attempt + 1) not in attempts:
            continue  # not followed by a retry of the same event to the same function
        if h.error.startswith("TransientFault"):
            out.applied["transient"] += 1
        elif h.error.startswith(CRASHED_AFTER_EFFECTS) and h.response is not None:
            out.applied["crash after effects"] += 1
    firsts = Counter((h.function, h.rule, h.event_id) for h in hops if h.attempt == 0 and h.event_id)
    out.applied["duplicate delivery"] += sum(n - 1 for n in firsts.values() if n > 1)
    order = {e["id"]: i for i, e in enumerate(published or [])}
    latest = -1
    for h in hops:
        position = order.get(h.event_id or "")
        if h.attempt == 0 and position is not None:
            out.applied["delayed or reordered"] += position < latest
            latest = max(latest, position)
    if rec is None:
        return
    ran = [h for h in rec.hops if h.function == "execution" and h.response is not None]
    if any(h.event_id in rec.redelivery_envelopes for h in ran):
        out.applied["refused_redelivery"] += 1
    if any(h.event_id in rec.injected_envelopes for h in ran):
        out.applied["second_plan"] += 1


def _legs(plan: dict[str, Any]) -> Counter[tuple[str, str]]:
    return Counter((o["symbol"], o["side"]) for o in plan.get("orders", []))


def _leg_value(plan: dict[str, Any], symbol: str, side: str) -> Decimal:
    for o in plan.get("orders", []):
        if (o["symbol"], o["side"]) == (symbol, side):
            return Decimal(str(o.get("estimated_value") or o.get("notional") or 0))
    return Decimal(0)


def check_orders(out: Outcome, rec: DayRecord, orders: list[Any], buying_power: Decimal, status: str | None,
                 faults: dict[str, Any]) -> None:
    """Compare the broker's orders of the day with the plans the drill saw and the final TradeExecuted."""
    day, cid = rec.day, rec.correlation_id
    by_symbol = faults.get("by_symbol", {})
    rejected = {s for s, f in by_symbol.items() if f["kind"] == "reject"}
    events = [e for e in rec.events if e.get("id") not in rec.forged_envelopes]
    plans = {e["detail"]["plan_id"]: e["detail"] for e in events if e["detail-type"] == "RebalancePlanned"
             and e["detail"].get("correlation_id") == cid and e["detail"].get("plan_id")}
    plans.update(rec.injected_plans)
    trades = [e["detail"] for e in events if e["detail-type"] == "TradeExecuted"
              and e["detail"].get("correlation_id") == cid]
    at_broker = Counter((o.symbol, o.side) for o in orders)
    out.orders_at_broker += len(orders)
    if not plans:
        if orders:
            out.duplicated += len(orders)
            out.problems.append(f"{day}: {len(orders)} orders at the broker from no plan")
        _check_failure(out, rec, status, {}, by_symbol)  # e.g. the run found the day "already ended failed"
        return

    def excess(plan: dict[str, Any]) -> int:
        return sum((at_broker - _legs(plan)).values())

    def missing(plan: dict[str, Any]) -> int:
        return sum(n for (symbol, _), n in (_legs(plan) - at_broker).items() if symbol not in rejected)

    best = min(plans.values(), key=lambda p: (excess(p), missing(p)))  # ties: the first plan seen
    if excess(best):
        out.duplicated += excess(best)
        out.problems.append(f"{day}: orders beyond plan {best['plan_id']}'s legs: {dict(at_broker - _legs(best))} "
                            f"({len(plans)} plan(s) seen)")
    if rec.refused_by_drill:  # only the drill's own refusal explains an empty book; the code's word does not
        if orders:
            out.misreported += 1
            out.problems.append(f"{day}: the workflow's plan was refused, yet {len(orders)} orders are at the "
                                f"broker (workflow {status})")
    else:
        out.orders_planned += sum(_legs(best).values())
        for symbol, side in (_legs(best) - at_broker).elements():
            if symbol in rejected:
                out.applied["broker reject"] += 1
            elif side == "buy" and buying_power < _leg_value(best, symbol, side):
                pass  # could not be afforded any more (a sell refused or partly filled, prices moved)
            else:
                out.lost += 1
                out.problems.append(f"{day}: planned {side} {symbol} of {best['plan_id']} is not at the broker")
    out.applied["partial fill"] += sum(1 for o in orders if by_symbol.get(o.symbol, {}).get("kind") == "partial")
    _check_report(out, rec, orders, [t for t in trades if t["plan_id"] == best["plan_id"]])
    _check_failure(out, rec, status, best, by_symbol)


def _gist(trade: dict[str, Any]) -> tuple[Any, ...]:
    return (trade["status"], trade.get("success"), tuple((r["symbol"], r["side"], r["status"], r.get("broker_order_id"),
                                                         str(r["filled_qty"])) for r in trade["orders"]))


def _check_report(out: Outcome, rec: DayRecord, orders: list[Any], trades: list[dict[str, Any]]) -> None:
    first: dict[str, dict[str, Any]] = {}
    for trade in trades:  # a republished event keeps its id and consumers keep the first copy: all must agree
        seen = first.setdefault(trade["event_id"], trade)
        if _gist(seen) != _gist(trade):
            out.misreported += 1
            out.problems.append(f"{rec.day}: TradeExecuted {trade['event_id']} published twice with different "
                                f"contents ({seen['status']} then {trade['status']})")
    final = trades[-1] if trades else None
    if final is None:
        if orders:
            out.misreported += len(orders)
            out.problems.append(f"{rec.day}: {len(orders)} orders at the broker, no TradeExecuted reports them")
        return
    reported = {r["broker_order_id"]: r for r in final["orders"] if r.get("broker_order_id")}
    at_broker = {o.broker_order_id: o for o in orders}
    for broker_id, row in reported.items():
        order = at_broker.get(broker_id)
        if order is None:
            out.misreported += 1
            out.problems.append(f"{rec.day}: TradeExecuted reports {row['side']} {row['symbol']} as order {broker_id}, "
                                "which the broker does not have")
        elif order.is_terminal and Decimal(str(row["filled_qty"])) != order.filled_qty:
            out.misreported += 1
            out.problems.append(f"{rec.day}: {row['symbol']} reported filled {row['filled_qty']}, the broker says "
                                f"{order.filled_qty}")
    for broker_id in at_broker.keys() - reported.keys():
        order = at_broker[broker_id]
        out.misreported += 1
        out.problems.append(f"{rec.day}: order {order.side} {order.symbol} ({order.client_order_id}) is at the broker "
                            "but not in the final TradeExecuted")


def _check_failure(out: Outcome, rec: DayRecord, status: str | None, plan: dict[str, Any],
                   by_symbol: dict[str, Any]) -> None:
    """A failed (or, on a trading day, skipped) workflow must have a fault the drill injected that explains it."""
    if status == "skipped":
        out.misreported += 1
        out.problems.append(f"{rec.day}: workflow {rec.correlation_id} was skipped on a trading day")
        return
    if status != "failed":
        return
    faulted = {o["symbol"] for o in plan.get("orders", [])} & set(by_symbol)
    if not (rec.refused_by_drill or faulted):
        out.misreported += 1
        out.problems.append(f"{rec.day}: workflow {rec.correlation_id} failed with no injected fault to explain it")


def _check_storm(out: Outcome, runtime_hops: list[Hop], state: Path, sc: Scenario) -> None:
    storm_hops = [h for h in runtime_hops if h.trigger == "ErrorNotificationRequested"
                  and h.correlation_id == f"storm-{sc.seed}"]
    out.storm_events_published += sum(len(h.published) for h in storm_hops)
    path = state / "notifications.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    seen = 0
    for i in range(sc.storm):
        marker = f"storm marker {sc.seed}-{i}"
        count = sum(marker in line for line in lines)
        seen += count > 0
        if count != 1:
            out.storm_notifications_wrong += 1
            out.problems.append(f"storm notification {i} delivered {count} times")
    if seen:
        out.applied["storm"] += 1


# ---- running ---------------------------------------------------------------------------------------

def _run_once(rec: DayRecord, options: DayOptions, chaos: Chaos | None, adversary: str | None, kill_after: int,
              setup: Any = None, on_hop: Any = None, refusals: int = 0, seen: Counter[str] | None = None) -> None:
    holder: dict[str, LocalRuntime] = {}

    def capture(runtime: LocalRuntime) -> None:
        holder["runtime"] = runtime
        if setup is not None:
            setup(runtime)

    with killer(adversary, kill_after, refusals, seen):
        try:
            result = run_day(options, chaos=chaos, setup=capture, on_hop=on_hop)
        except KillProcess:
            rec.kills += 1
            result = None
    runtime = holder["runtime"]
    rec.hops.extend(runtime.hops)
    rec.runs.append((list(runtime.hops), list(runtime.published)))
    rec.events.extend(runtime.published)
    if result is not None:
        rec.statuses.append(result.status)
        rec.correlation_id = rec.correlation_id or result.correlation_id
    else:
        started = [e for e in runtime.published if e["detail-type"] == "WorkflowStarted"]
        rec.correlation_id = rec.correlation_id or (started[-1]["detail"]["correlation_id"] if started else None)
        rec.statuses.append("killed")


def _redeliver_plans(rec: DayRecord, state: Path, as_of: datetime, env: dict[str, str]) -> None:
    """The switch is active again; the day's RebalancePlanned is delivered once more (a resend, a replay)."""
    (state / "kill-switch").write_text("active\n")
    runtime = LocalRuntime(state, as_of=as_of, env=env)
    for envelope in [e for e in rec.events if e["detail-type"] == "RebalancePlanned"
                     and e["detail"].get("correlation_id") == rec.correlation_id]:
        rec.redelivery_envelopes.add(envelope["id"])
        runtime.route(envelope)
    runtime.run_until_quiet()
    rec.hops.extend(runtime.hops)
    rec.runs.append((list(runtime.hops), list(runtime.published)))
    rec.events.extend(runtime.published)


def run_day_under_faults(sc: Scenario, state: Path, index: int, day: date, out: Outcome) -> DayRecord:
    rec = DayRecord(day)
    adversary = sc.adversary if day not in HOLIDAYS and index == _first_trading_index(sc) else None
    as_of = datetime.combine(day, datetime.min.time().replace(hour=9, minute=35), NEW_YORK)
    # Fills are polled in real time: keep the waits short so thousands of runs fit in minutes.
    extra = {"ALCHEMISER_FILL_WAIT_SECONDS": "0.05", "ALCHEMISER_POLL_INTERVAL_SECONDS": "0.01",
             "ALCHEMISER_POST_LOOKUP_DELAY_SECONDS": "0.01"}
    if sc.whole_account:
        extra["ALCHEMISER_MANAGE_WHOLE_ACCOUNT"] = "true"
    if sc.faults:
        extra["ALCHEMISER_SIM_FAULTS"] = json.dumps(sc.faults)
    options = DayOptions(state, as_of, extra_env=extra)
    injected: dict[str, Any] = {}

    killing = adversary in ("kill_mid_plan", "kill_before_publish")

    def mix_in(runtime: LocalRuntime) -> None:
        # A killed `alchemiser run` takes its in-memory bus with it: events queued but not yet delivered
        # are gone (they are in the archive only). So the poison and the storm go with the run that lives.
        if index == 0 and sc.poison:
            injected["poison"] = runtime.put_events([_poison_entry(runtime.template.bus_name, sc.seed)])[0]
        if index == 0 and sc.storm:
            runtime.put_events(_storm_entries(runtime.template.bus_name, sc.seed, sc.storm, state))

    def setup(runtime: LocalRuntime) -> None:
        if not killing:
            mix_in(runtime)
        watchers.attach(runtime)

    forger = _forger(sc, index, as_of, state, runtime_env(options))
    watchers = _Watchers(_SecondPlanInjector(rec) if adversary == "second_plan" else None, forger)
    if adversary == "refused_redelivery":
        state.mkdir(parents=True, exist_ok=True)
        (state / "kill-switch").write_text("halted\n")
        rec.refused_by_drill = True
    refusals = sc.post_refusals if index == _first_trading_index(sc) else 0
    _run_once(rec, options, _chaos(sc.seed * 10 + index, sc.chaos), adversary, sc.kill_after, setup, watchers,
              refusals, out.applied)
    if rec.kills:  # the user runs the day again, ten minutes later
        later = DayOptions(state, as_of + timedelta(minutes=10), extra_env=extra)
        _run_once(rec, later, _chaos(sc.seed * 10 + index + 5, sc.chaos), None, 0, mix_in)
        out.applied[adversary or "kill"] += rec.kills
    elif killing:  # the plan had fewer orders than the kill point: nothing died, mix the rest in now
        runtime = LocalRuntime(state, as_of=as_of, env=runtime_env(options))
        mix_in(runtime)
        runtime.run_until_quiet()
        rec.hops.extend(runtime.hops)
        rec.runs.append((list(runtime.hops), list(runtime.published)))
        rec.events.extend(runtime.published)
    if adversary == "refused_redelivery":
        _redeliver_plans(rec, state, as_of + timedelta(minutes=30), runtime_env(options))
    if "poison" in injected:
        _check_poison(out, injected["poison"], state)
    if index == 0 and sc.storm:
        _check_storm(out, rec.hops, state, sc)
    if forger is not None:
        _judge_forgeries(forger, out, rec, state, as_of, runtime_env(options))
    return rec


def _check_poison(out: Outcome, poison: dict[str, Any], state: Path) -> None:
    if poison["id"] in {m["event"]["id"] for m in LocalRuntime(state).dlq.messages()}:
        out.applied["poison"] += 1
    else:
        out.poison_not_dead_lettered += 1
        out.problems.append("the poison event did not reach the dead-letter queue")


class _Watchers:
    """What watches the day's hops (the second-plan injector, the forger): each is given the day's runtime."""

    def __init__(self, *watchers: _SecondPlanInjector | Forger | None) -> None:
        self.watchers = [w for w in watchers if w is not None]

    def attach(self, runtime: LocalRuntime) -> None:
        for watcher in self.watchers:
            watcher.runtime = runtime

    def __call__(self, hop: Hop) -> None:
        for watcher in self.watchers:
            watcher(hop)


def _forger(sc: Scenario, index: int, as_of: datetime, state: Path, env: dict[str, str]) -> Forger | None:
    """The forger of the first trading day, when the scenario asks for one; it sends its first forgeries now."""
    if not sc.forged or index != _first_trading_index(sc):
        return None
    from alchemiser.local.day import day_workflow_id
    from alchemiser.local.template import load_template

    template = load_template()
    forger = Forger(sc.seed, day_workflow_id(as_of, template), template.bus_name)
    forger.before(state, before_run(as_of), env)
    return forger


def _judge_forgeries(forger: Forger, out: Outcome, rec: DayRecord, state: Path, as_of: datetime,
                     env: dict[str, str]) -> None:
    """After the day (and its reruns): the forgeries sent after it, then the verdict on all of them."""
    rec.forged_envelopes = set(forger.envelopes)
    forger.count_day(rec.hops)
    forger.judge_day(state, rec.events)
    forger.after(state, after_day(as_of), env, rec.events)
    out.applied[FORGED] += forger.applied
    out.false_terminal += forger.false_terminal
    out.problems.extend(f"{rec.day}: {p}" for p in forger.problems)


def _chaos(seed: int, knobs: dict[str, float]) -> Chaos:
    return Chaos(seed, p_duplicate=knobs["p_duplicate"], p_delay=knobs["p_delay"], p_reorder=knobs["p_reorder"],
                 p_transient=knobs["p_transient"], p_crash_after=knobs["p_crash_after"])


def _first_trading_index(sc: Scenario) -> int:
    return next((i for i, d in enumerate(sc.days) if d not in HOLIDAYS), -1)


def buy_by_hand(state: Path, first_day: date) -> None:
    """The user's own shares, bought the evening before the drill's first day (outside every day's book)."""
    from shared.broker.port import OrderRequest

    before = first_day - timedelta(days=1)
    while before.weekday() >= 5:  # the session before: a Friday for a Monday
        before -= timedelta(days=1)
    evening = datetime.combine(before, datetime.min.time().replace(hour=15), NEW_YORK)
    broker = _broker(state, evening)
    for symbol, qty in HAND_BOUGHT.items():
        broker.submit_order(OrderRequest(f"by-hand-{symbol}", symbol, "buy", qty=qty))


def hand_held(state: Path, day: date) -> dict[str, Decimal]:
    """The never-held symbols the broker holds before `day` runs (read from the broker)."""
    if not (state / "broker").exists():
        return {}
    as_of = datetime.combine(day, datetime.min.time().replace(hour=9, minute=30), NEW_YORK)
    return {p.symbol: p.qty for p in _broker(state, as_of).get_positions() if p.symbol in HAND_BOUGHT and p.qty > 0}


def check_hand_bought(out: Outcome, sc: Scenario, state: Path, day: date, held: dict[str, Decimal]) -> None:
    """None of the never-held shares sold (the broker's orders of the day), unless the whole account is managed."""
    if day in HOLIDAYS or not held:
        return
    out.applied[NEVER_HELD] += 1
    as_of = datetime.combine(day, datetime.min.time().replace(hour=15, minute=59), NEW_YORK)
    sold: dict[str, Decimal] = {}
    for o in _broker(state, as_of).list_orders():
        when = o.submitted_at.astimezone(NEW_YORK).date() if o.submitted_at is not None else day
        if o.symbol in HAND_BOUGHT and o.side == "sell" and when == day:
            sold[o.symbol] = sold.get(o.symbol, Decimal(0)) + (o.qty or Decimal(0))
    if not sc.whole_account:
        if sold:
            out.hand_bought_sold += sum(sold.values(), Decimal(0))
            out.problems.append(f"{day}: sold shares bought by hand that no strategy held: {dict(sold)}")
        return
    out.whole_account_sold += sum(sold.values(), Decimal(0))
    over = {s: q for s, q in sold.items() if q > held.get(s, Decimal(0))}
    if over:
        out.duplicated += len(over)
        out.problems.append(f"{day}: sold more than the broker held: {over} (held {held})")


def run_scenario(sc: Scenario, workdir: Path) -> Outcome:
    out = Outcome(sc)
    state = workdir / f"seed-{sc.seed}-{uuid.uuid4().hex[:6]}"
    if sc.hand_bought:
        buy_by_hand(state, sc.days[0])
    for index, day in enumerate(sc.days):
        held = hand_held(state, day) if sc.hand_bought else {}
        try:
            rec = run_day_under_faults(sc, state, index, day, out)
        except Exception as exc:  # the drill reports it; the next run still runs
            out.problems.append(f"{day}: the day raised {type(exc).__name__}: {exc}"[:300])
            continue
        out.statuses.extend(rec.statuses)
        out.deliveries += len(rec.hops)
        for hops, published in rec.runs:
            apply_evidence(out, hops, published=published)
        apply_evidence(out, [], rec)
        check_day(out, rec, state, sc)
        check_hand_bought(out, sc, state, day, held)
    return out


def check_day(out: Outcome, rec: DayRecord, state: Path, sc: Scenario) -> None:
    day = rec.day
    if day in HOLIDAYS:
        if rec.correlation_id is not None or any(s != "skipped" for s in rec.statuses):
            out.problems.append(f"{day} is a holiday, yet it ran: {rec.statuses}")
        return
    if rec.correlation_id is None and rec.statuses and all(s == "skipped" for s in rec.statuses):
        out.misreported += 1  # the strategy skipped a trading day: nothing the drill did explains it
        out.problems.append(f"{day} was skipped")
        return
    status = _workflow_status(state, rec.correlation_id) if rec.correlation_id else None
    if status not in TERMINAL:
        out.stuck += 1
        out.problems.append(f"{day}: workflow {rec.correlation_id} is {status!r} after runs {rec.statuses}")
    as_of = datetime.combine(day, datetime.min.time().replace(hour=15, minute=59), NEW_YORK)
    broker = _broker(state, as_of)
    orders = [o for o in broker.list_orders()
              if o.submitted_at is None or o.submitted_at.astimezone(NEW_YORK).date() == day]
    check_orders(out, rec, orders, broker.get_account().buying_power, status, sc.faults)


# ---- figures ---------------------------------------------------------------------------------------

def unapplied_kinds(outcomes: list[Outcome]) -> list[str]:
    """Fault kinds some scenario asked for that never demonstrably happened."""
    asked = {kind for o in outcomes for kind in o.scenario.kinds}
    applied = Counter[str]()
    for o in outcomes:
        applied.update(o.applied)
    return sorted(kind for kind in asked if not applied[kind])


def table(outcomes: list[Outcome], seconds: float) -> str:
    total = Counter[str]()
    applied = Counter[str]()
    for o in outcomes:
        applied.update(o.applied)
        total.update({"deliveries": o.deliveries, "events retried": o.retried_events,
                      "orders planned (executed plans)": o.orders_planned, "orders at broker": o.orders_at_broker,
                      "orders duplicated": o.duplicated, "orders lost": o.lost, "misreported": o.misreported,
                      "stuck": o.stuck, "false terminal states (forged events)": o.false_terminal,
                      "never-held shares sold (not managed)": int(o.hand_bought_sold),
                      "never-held shares sold (manage_whole_account)": int(o.whole_account_sold),
                      "poison not dead-lettered": o.poison_not_dead_lettered,
                      "events published by the error storm": o.storm_events_published,
                      "storm notifications not delivered exactly once": o.storm_notifications_wrong})
    days = Counter(s for o in outcomes for s in o.statuses)
    asked = Counter(kind for o in outcomes for kind in o.scenario.kinds)
    rows: list[tuple[str, Any]] = [("runs", len(outcomes)), ("day runs", sum(days.values())),
                                   *((f"  day runs {k}", v) for k, v in sorted(days.items())),
                                   ("storm events sent", sum(o.scenario.storm for o in outcomes)),
                                   *total.items()]
    rows += [(f"applied: {kind} (runs asking for it)", f"{applied[kind]} ({asked[kind]})") for kind in FAULT_KINDS]
    rows += [("runs with problems", sum(not o.ok for o in outcomes)), ("seconds", f"{seconds:.1f}")]
    return "\n".join(["| figure | value |", "|---|---:|", *(f"| {k} | {v} |" for k, v in rows)])


def run(runs: int, seed: int, workdir: Path) -> list[Outcome]:
    return [run_scenario(generate(seed * 100_003 + i), workdir) for i in range(runs)]


def scratch_dir() -> str | None:
    """Where the runs' state directories go: RAM (/dev/shm) when there is one — every SQLite commit
    fsyncs, and on a disk that is most of a run's time — else the system's temporary directory."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=scratch_dir(), help="parent of the runs' state directories")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)  # the faults are expected; keep the figures readable
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="alchemiser-fault-chain-", dir=args.workdir) as tmp:
        outcomes = []
        for i in range(args.runs):
            outcomes.append(run_scenario(generate(args.seed * 100_003 + i), Path(tmp)))
            if (i + 1) % 50 == 0:
                print(f"  {i + 1}/{args.runs} runs", file=sys.stderr, flush=True)
    print(table(outcomes, time.perf_counter() - started))
    missing = unapplied_kinds(outcomes)
    if missing:
        print(f"fault kinds asked for but never applied: {missing}")
    for o in outcomes:
        for problem in o.problems:
            print(f"seed {o.scenario.seed}: {problem}")
    return 0 if all(o.ok for o in outcomes) and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
