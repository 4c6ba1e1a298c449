"""Fault drill over the whole chain: seeded trading days under at-least-once delivery, crashes,
a poison event and an error storm, checked for duplicated, lost and stuck work.

    .venv/bin/python bench/fault_chain.py --runs 1000 --seed 1

Each run trades one to three consecutive days in a fresh state directory through the real
handlers and the template's rules (alchemiser.local.day.run_day), with a `Chaos` policy that
duplicates, delays and reorders deliveries and makes invocations fail before, or crash after,
their effects; the simulated broker may reject or partially fill orders. A poison event (a
RebalancePlanned missing its plan id) and a storm of ErrorNotificationRequested are mixed into
the day's deliveries. After each day it checks:

- the workflow ends completed, failed or skipped in the orchestrator's store (never stuck);
- the broker holds exactly one order per planned leg that execution placed: none duplicated,
  none lost (a leg execution reports as skipped, e.g. a scaled-away buy, may be absent);
- the poison event reaches the dead-letter queue and places nothing;
- the storm publishes no event and each storm notification is delivered exactly once.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alchemiser.local.chaos import Chaos
from alchemiser.local.day import DayOptions, DayResult, run_day
from alchemiser.local.runtime import LocalRuntime

NEW_YORK = ZoneInfo("America/New_York")
DAYS = (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26))  # the 26th: holiday
SYMBOLS = ("TQQQ", "SHY", "BIL", "VEA", "VWO", "XLF", "XLK", "GLD", "IEF", "DBC", "TLT", "VTI", "AGG")


@dataclass
class Scenario:
    seed: int
    days: tuple[date, ...]
    faults: dict[str, Any]
    poison: bool
    storm: int
    chaos: dict[str, float]


@dataclass
class Outcome:
    scenario: Scenario
    statuses: list[str] = field(default_factory=list)
    deliveries: int = 0
    duplicates_delivered: int = 0
    orders_planned: int = 0
    orders_at_broker: int = 0
    duplicated: int = 0
    lost: int = 0
    stuck: int = 0
    poison_not_dead_lettered: int = 0
    storm_events_published: int = 0
    storm_notifications_wrong: int = 0
    problems: list[str] = field(default_factory=list)

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
    return Scenario(seed, days, {"by_symbol": faults} if faults else {}, rng.random() < 0.5,
                    rng.choice([0, 0, 3, 10]), chaos)


def _poison_entry(bus: str, seed: int) -> dict[str, Any]:
    detail = {"schema_version": 1, "event_id": f"poison-{seed}", "correlation_id": f"poison-{seed}",
              "causation_id": "nobody", "occurred_at": "2026-11-25T14:35:00Z", "trading_mode": "paper",
              "hop_count": 2}  # a RebalancePlanned with no plan, no orders, no account: bad input
    return {"Source": "alchemiser.portfolio", "DetailType": "RebalancePlanned", "Detail": json.dumps(detail),
            "EventBusName": bus}


def _storm_entries(bus: str, seed: int, count: int) -> list[dict[str, Any]]:
    entries = []
    for i in range(count):
        detail = {"event_id": f"storm-{seed}-{i}", "correlation_id": f"storm-{seed}", "occurred_at":
                  "2026-11-25T14:35:00Z", "error_type": "Storm", "error_message": f"storm marker {seed}-{i}"}
        entries.append({"Source": "alchemiser.orchestration", "DetailType": "ErrorNotificationRequested",
                        "Detail": json.dumps(detail), "EventBusName": bus})
    return entries


def _broker_orders(state: Path, as_of: datetime) -> list[Any]:
    from shared.broker.factory import make_broker
    from shared.broker.settings import BrokerSettings

    broker = make_broker(BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(state),
                                                  "ALCHEMISER_AS_OF": as_of.isoformat()}))
    return list(broker.list_orders())  # type: ignore[attr-defined]


def _workflow_status(state: Path, correlation_id: str) -> str | None:
    from services.orchestrator.embedded_workflow_store import EmbeddedWorkflowStore

    stored = EmbeddedWorkflowStore(state / "state.sqlite").load(correlation_id)
    return None if stored is None else str(stored.record.status)


def _check_orders(out: Outcome, result: DayResult, orders: list[Any], day: date) -> None:
    from services.execution.order_ids import plan_order_ids

    mine = [e for e in result.events if e["detail"].get("correlation_id") == result.correlation_id]
    trades = [e["detail"] for e in mine if e["detail-type"] == "TradeExecuted"]
    trade = trades[-1] if trades else None
    plans = {e["detail"]["plan_id"]: e["detail"] for e in mine if e["detail-type"] == "RebalancePlanned"}
    todays = [o for o in orders if o.submitted_at is None or o.submitted_at.astimezone(NEW_YORK).date() == day]
    by_leg = Counter((o.symbol, o.side) for o in todays)
    out.orders_at_broker += len(todays)
    out.duplicated += sum(n - 1 for n in by_leg.values() if n > 1)
    if trade is None:
        if todays:
            out.problems.append(f"{day}: {len(todays)} orders at the broker but no TradeExecuted")
        return
    plan = plans.get(trade["plan_id"])
    if plan is None:
        out.problems.append(f"{day}: TradeExecuted for an unknown plan {trade['plan_id']}")
        return
    legs = [(o["symbol"], o["side"]) for o in plan["orders"]]
    out.orders_planned += len(legs)
    expected = dict(zip(plan_order_ids(plan["plan_id"], legs), legs, strict=True))
    reported = {r["client_order_id"]: r for r in trade["orders"]}
    at_broker = {o.client_order_id for o in todays}
    if trade["status"] in ("rejected", "market_closed", "halted"):  # refused before any order
        if at_broker:
            out.problems.append(f"{day}: plan refused ({trade['status']}) yet orders exist: {sorted(at_broker)}")
        return
    for coid in expected:
        row = reported.get(coid)
        if row is None:
            out.lost += 1
            out.problems.append(f"{day}: planned leg {coid} is missing from TradeExecuted")
        elif row.get("broker_order_id") and coid not in at_broker:
            out.lost += 1
            out.problems.append(f"{day}: {coid} reported placed ({row['status']}) but not at the broker")
        elif not row.get("broker_order_id") and coid in at_broker:
            out.problems.append(f"{day}: {coid} is at the broker but reported {row['status']} with no order id")
    strangers = at_broker - set(expected)
    if strangers:
        out.duplicated += len(strangers)
        out.problems.append(f"{day}: orders at the broker from no executed plan: {sorted(strangers)}")


def _check_storm(out: Outcome, runtime_hops: list[Any], state: Path, sc: Scenario) -> None:
    storm_hops = [h for h in runtime_hops if h.trigger == "ErrorNotificationRequested"]
    out.storm_events_published += sum(len(h.published) for h in storm_hops)
    path = state / "notifications.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    for i in range(sc.storm):
        marker = f"storm marker {sc.seed}-{i}"
        count = sum(marker in line for line in lines)
        if count != 1:
            out.storm_notifications_wrong += 1
            out.problems.append(f"storm notification {i} delivered {count} times")


def run_scenario(sc: Scenario, workdir: Path) -> Outcome:
    out = Outcome(sc)
    state = workdir / f"seed-{sc.seed}-{uuid.uuid4().hex[:6]}"
    # Fills are polled in real time: keep the waits short so thousands of runs fit in minutes.
    extra = {"ALCHEMISER_FILL_WAIT_SECONDS": "0.05", "ALCHEMISER_POLL_INTERVAL_SECONDS": "0.01"}
    if sc.faults:
        extra["ALCHEMISER_SIM_FAULTS"] = json.dumps(sc.faults)
    for index, day in enumerate(sc.days):
        as_of = datetime.combine(day, datetime.min.time().replace(hour=9, minute=35), NEW_YORK)
        chaos = Chaos(sc.seed * 10 + index, **sc.chaos)
        injected: dict[str, Any] = {}

        def setup(runtime: LocalRuntime, first: bool = index == 0, injected: dict[str, Any] = injected) -> None:
            if first and sc.poison:
                injected["poison"] = runtime.put_events([_poison_entry(runtime.template.bus_name, sc.seed)])[0]
            if first and sc.storm:
                runtime.put_events(_storm_entries(runtime.template.bus_name, sc.seed, sc.storm))

        result = run_day(DayOptions(state, as_of, extra_env=extra), chaos=chaos, setup=setup)
        out.statuses.append(result.status)
        out.deliveries += len(result.hops)
        out.duplicates_delivered += chaos.stats.duplicated
        _check_day(out, result, state, as_of, day)
        if "poison" in injected:
            dead = {m["event"]["id"] for m in LocalRuntime(state).dlq.messages()}
            if injected["poison"]["id"] not in dead:
                out.poison_not_dead_lettered += 1
                out.problems.append("the poison event did not reach the dead-letter queue")
        if index == 0 and sc.storm:
            _check_storm(out, result.hops, state, sc)
    return out


def _check_day(out: Outcome, result: DayResult, state: Path, as_of: datetime, day: date) -> None:
    if result.status == "skipped":
        if day != date(2026, 11, 26):
            out.problems.append(f"{day} was skipped: {result.reason}")
        return
    status = _workflow_status(state, result.correlation_id) if result.correlation_id else None
    if status not in ("completed", "failed", "skipped"):
        out.stuck += 1
        out.problems.append(f"{day}: workflow {result.correlation_id} is {status!r} ({result.reason})")
    _check_orders(out, result, _broker_orders(state, as_of), day)


def run(runs: int, seed: int, workdir: Path) -> list[Outcome]:
    return [run_scenario(generate(seed * 100_003 + i), workdir) for i in range(runs)]


def table(outcomes: list[Outcome], seconds: float) -> str:
    total = Counter[str]()
    for o in outcomes:
        total.update({"deliveries": o.deliveries, "duplicates delivered": o.duplicates_delivered,
                      "orders planned": o.orders_planned, "orders at broker": o.orders_at_broker,
                      "orders duplicated": o.duplicated, "orders lost": o.lost, "stuck": o.stuck,
                      "poison not dead-lettered": o.poison_not_dead_lettered,
                      "events published by the error storm": o.storm_events_published,
                      "storm notifications not delivered exactly once": o.storm_notifications_wrong})
    days = Counter(s for o in outcomes for s in o.statuses)
    rows = [("runs", len(outcomes)), ("days", sum(days.values())),
            *((f"  days {k}", v) for k, v in sorted(days.items())),
            ("runs with a poison event", sum(o.scenario.poison for o in outcomes)),
            ("storm events sent", sum(o.scenario.storm for o in outcomes)),
            *total.items(), ("runs with problems", sum(not o.ok for o in outcomes)), ("seconds", f"{seconds:.1f}")]
    return "\n".join(["| figure | value |", "|---|---:|", *(f"| {k} | {v} |" for k, v in rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="alchemiser-fault-chain-") as tmp:
        outcomes = []
        for i in range(args.runs):
            outcomes.append(run_scenario(generate(args.seed * 100_003 + i), Path(tmp)))
            if (i + 1) % 50 == 0:
                print(f"  {i + 1}/{args.runs} runs", file=sys.stderr, flush=True)
    print(table(outcomes, time.perf_counter() - started))
    for o in outcomes:
        for problem in o.problems:
            print(f"seed {o.scenario.seed}: {problem}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
