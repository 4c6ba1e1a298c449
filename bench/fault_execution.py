"""Randomized fault scenarios for the execution service: duplicates = 0, lost = 0.

Each scenario (seeded, reproducible) builds a plan of sells and buys over an account with
positions, picks a broker — the fake Alpaca server through the real AlpacaBroker (alpaca-py), or
the simulated broker — and mixes faults:
  duplicate deliveries, concurrent deliveries (threads), a crash (BaseException) right after the
  k-th order submission of a delivery whose Lambda context has 0 ms left (so a retry may take
  over), order POSTs whose reply is lost after the broker created the order (504, dropped
  connection, timeout), 429 storms on reads (or, simulated, failing look-ups), partial fills
  (some never complete and are canceled), and rejections (at the POST, or after acceptance).
Deliveries repeat until the plan's idempotency record says done (a delivery answers
`duplicate`), then the extra duplicates are sent. Then, at the broker: every planned order
exists exactly once by client order id (duplicated = 0, lost = 0) — except the ones the scenario
had refused at the POST, which must not exist — and the final TradeExecuted reports each planned
order once, consistently with the broker (misreported = 0).

    python bench/fault_execution.py --scenarios 1000 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from services.execution import app
from services.execution.risk import RiskLimits
from shared.broker.simulated_faults import Fault, SimFaults
from shared.events.publisher import InMemoryPublisher
from shared.events.rebalance_planned import PlannedOrder
from shared.events.trade_executed import TradeExecuted
from tests.unit.execution.support import (
    NOW,
    PRICES,
    TODAY,
    Context,
    Crash,
    FaultyBroker,
    SimClock,
    buy,
    incoming,
    make_deps,
    make_plan,
    seed_positions,
    sell,
    sim_broker,
)

NEW_YORK = ZoneInfo("America/New_York")
UNIVERSE = ["SPY", "QQQ", "TQQQ", "SQQQ", "BIL", "TLT", "GLD", "AAPL"]
READ_ROUTES = ["GET /v2/clock", "GET /v2/account", "GET /v2/positions", "GET /v2/orders:by_client_order_id",
               "GET /v2/orders/{id}"]
MAX_DELIVERIES = 25
POST_TIMEOUT = 0.25


@dataclass
class Scenario:
    index: int
    broker: str  # "alpaca" | "sim"
    holdings: dict[str, str]
    orders: list[PlannedOrder]
    refused: set[str] = field(default_factory=set)
    """Symbols whose order the broker refuses at the POST (must not exist; reported rejected, or failed when the
    refusal's own reply was lost)."""
    rejected_later: set[str] = field(default_factory=set)
    """Symbols whose order is accepted, then rejected (exists once; reported rejected)."""
    partial: dict[str, list[str]] = field(default_factory=dict)
    post_faults: list[str] = field(default_factory=list)
    storms: list[tuple[str, int]] = field(default_factory=list)
    lookup_failures: int = 0
    concurrent: int = 1
    crash_points: dict[int, int] = field(default_factory=dict)
    """delivery number -> crash right after its k-th successful submission."""
    duplicates: int = 0

    @property
    def kinds(self) -> set[str]:
        kinds = set()
        if self.refused or self.rejected_later:
            kinds.add("rejection")
        if self.partial:
            kinds.add("partial fill")
        if self.post_faults:
            kinds.add("post fault")
        if self.storms or self.lookup_failures:
            kinds.add("429 storm")
        if self.concurrent > 1:
            kinds.add("concurrent")
        if self.crash_points:
            kinds.add("crash")
        if self.duplicates:
            kinds.add("duplicate")
        return kinds


@dataclass
class Outcome:
    deliveries: int = 0
    duplicate_deliveries: int = 0
    crashes: int = 0
    retried_errors: int = 0
    planned: int = 0
    refused: int = 0
    at_broker: int = 0
    duplicated: int = 0
    lost: int = 0
    misreported: int = 0
    unfinished: int = 0
    problems: list[str] = field(default_factory=list)


def _plan_orders(rng: random.Random) -> tuple[dict[str, str], list[PlannedOrder]]:
    symbols = rng.sample(UNIVERSE, rng.randint(2, 6))
    held = symbols[: rng.randint(0, min(3, len(symbols) - 1))]
    holdings = {s: str(rng.randint(5, 40) * 2) for s in held}
    orders = [sell(s, str(Decimal(holdings[s]) / (1 if rng.random() < 0.5 else 2))) for s in held if rng.random() < 0.8]
    orders += [buy(s, notional=str(rng.randint(5, 60) * 100)) for s in symbols[len(held):]]
    rng.shuffle(orders)
    return holdings, orders


def _order_faults(rng: random.Random, scenario: Scenario) -> None:
    symbols = [o.symbol for o in scenario.orders]
    if rng.random() < 0.25:
        scenario.rejected_later.add(rng.choice(symbols))
    if rng.random() < 0.2:
        if scenario.broker == "alpaca":
            scenario.orders.append(buy("ZZZZ", notional="100", price="10"))  # unknown asset: refused at the POST
            scenario.refused.add("ZZZZ")
        else:
            candidates = [s for s in symbols if s not in scenario.rejected_later]
            if candidates:
                scenario.refused.add(rng.choice(candidates))
    for symbol in symbols:
        if symbol not in scenario.rejected_later | scenario.refused and rng.random() < 0.2:
            scenario.partial[symbol] = rng.choice([["0.3", "0.6"], ["0.5", "1"], ["0.25", "0.5", "1"], ["0.4"]])


def _delivery_faults(rng: random.Random, scenario: Scenario) -> None:
    alpaca = scenario.broker == "alpaca"
    if rng.random() < 0.35:
        kinds = ["lost_reply", "drop", "timeout"] if alpaca else ["lost_reply", "duplicate"]
        scenario.post_faults = rng.choices(kinds, [5, 3, 1] if alpaca else [1, 1], k=rng.randint(1, 2))
    if rng.random() < 0.35:
        if alpaca:
            scenario.storms = [(rng.choice(READ_ROUTES), rng.randint(1, 4)) for _ in range(rng.randint(1, 3))]
        else:
            scenario.lookup_failures = rng.randint(1, 2)
    if rng.random() < 0.3:
        scenario.concurrent = rng.randint(2, 3)
    submittable = max(1, len(scenario.orders) - len(scenario.refused))
    if rng.random() < 0.45:
        scenario.crash_points[0] = rng.randint(1, submittable)
        if rng.random() < 0.3:
            scenario.crash_points[1] = rng.randint(1, submittable)
    if rng.random() < 0.5:
        scenario.duplicates = rng.randint(1, 3)


def generate(seed: int, index: int, *, alpaca_share: float = 0.6) -> Scenario:
    """Scenario `index` of the run seeded `seed` (the same pair always gives the same scenario)."""
    rng = random.Random(f"{seed}:{index}")
    broker = "alpaca" if rng.random() < alpaca_share else "sim"
    holdings, orders = _plan_orders(rng)
    scenario = Scenario(index, broker, holdings, orders)
    _order_faults(rng, scenario)
    _delivery_faults(rng, scenario)
    return scenario


# ---- running -------------------------------------------------------------------------------------

@contextmanager
def _alpaca_world(scenario: Scenario, clock: SimClock) -> Iterator[tuple[Any, Any]]:
    from tests.fakes.fake_alpaca import running_fake_alpaca
    from tests.integration.broker.conftest import make_broker

    with running_fake_alpaca() as fake:
        fake.set_account(cash="60000")
        for symbol, qty in scenario.holdings.items():
            fake.set_position(symbol, qty)
        for symbol in scenario.rejected_later:
            fake.fill_mode(symbol, "reject")
        for symbol, steps in scenario.partial.items():
            fake.fill_mode(symbol, "partial", steps=steps)
        for fault in scenario.post_faults:
            options = {"lost_reply": {"status": 504}, "drop": {"drop": True},
                       "timeout": {"delay": POST_TIMEOUT * 2}}[fault]
            fake.script_next("POST /v2/orders", after_create=True, **options)
        for route, times in scenario.storms:
            fake.script_next(route, status=429, times=times)
        yield make_broker(fake, clock, timeout=POST_TIMEOUT), fake


@contextmanager
def _sim_world(scenario: Scenario, state_dir: Path) -> Iterator[tuple[Any, Any]]:
    by_coid: dict[str, Fault] = {}
    for symbol, coid in _coids(scenario).items():
        if symbol in scenario.refused:
            by_coid[coid] = Fault("reject", message=f"{symbol} refused (scenario)")
        elif symbol in scenario.rejected_later:
            by_coid[coid] = Fault("reject_later")
        elif symbol in scenario.partial:
            by_coid[coid] = Fault("partial", steps=tuple(Decimal(s) for s in scenario.partial[symbol]))
    seed_cost = sum((Decimal(qty) * PRICES[symbol] * 2 for symbol, qty in scenario.holdings.items()), Decimal(0))
    broker = sim_broker(state_dir / "sim", cash=str(60000 + seed_cost), faults=SimFaults(by_client_order_id=by_coid))
    seed_positions(broker, scenario.holdings)
    yield broker, broker


def _coids(scenario: Scenario) -> dict[str, str]:
    from services.execution.order_ids import plan_order_ids

    ids = plan_order_ids(_plan_id(scenario), [(o.symbol, o.side) for o in scenario.orders])
    return {o.symbol: coid for o, coid in zip(scenario.orders, ids, strict=True)}


def _plan_id(scenario: Scenario) -> str:
    return f"plan-fault-{scenario.index}"


def _broker_orders(kind: str, handle: Any) -> list[tuple[str, Decimal, str]]:
    if kind == "alpaca":
        return [(o["client_order_id"], Decimal(o["filled_qty"]), o["status"]) for o in handle.orders]
    return [(o.client_order_id, o.filled_qty, o.status) for o in handle.list_orders()]


class _Deliverer:
    def __init__(self, scenario: Scenario, broker: Any, state_dir: Path, clock: SimClock, outcome: Outcome) -> None:
        self.scenario, self.broker, self.state_dir, self.clock, self.outcome = (
            scenario, broker, state_dir, clock, outcome)
        self.publisher = InMemoryPublisher("alchemiser.execution")
        self.lock = threading.Lock()
        self.count = 0
        self.done = False
        self.sim = scenario.broker == "sim"
        if self.sim and (scenario.post_faults or scenario.lookup_failures):
            self.broker = FaultyBroker(broker, next_submit_faults=list(scenario.post_faults),
                                       lookup_failures=scenario.lookup_failures)
        day = TODAY if self.sim else datetime.now(NEW_YORK).date()
        self.plan = make_plan(scenario.orders, plan_id=_plan_id(scenario), correlation_id=f"wf-fault-{scenario.index}",
                              trading_date=day, equity="100000")

    def deliver(self) -> None:
        with self.lock:
            number = self.count
            self.count += 1
            self.outcome.deliveries += 1
            if self.done:
                self.outcome.duplicate_deliveries += 1
        crash_after = self.scenario.crash_points.get(number)
        broker = self.broker if crash_after is None else FaultyBroker(self.broker, crash_after_submissions=crash_after)
        deps = make_deps(broker, self.state_dir, clock=self.clock, publisher=self.publisher,
                         limits=RiskLimits(max_order_equity_fraction=Decimal("1"), max_position_weight=Decimal("1")),
                         now=(lambda: NOW) if self.sim else (lambda: datetime.now(UTC)))
        context = Context(remaining_ms=0 if crash_after is not None else 120_000, aws_request_id=f"req-{number}")
        try:
            response = app.handle(incoming(self.plan), deps, context=context)
        except Crash:
            with self.lock:
                self.outcome.crashes += 1
            return
        except IdempotencyAlreadyInProgressError:
            with self.lock:
                self.outcome.retried_errors += 1
            return
        except Exception as exc:  # a broker read that failed after its retries: Lambda retries the event
            with self.lock:
                self.outcome.retried_errors += 1
                self.outcome.problems.append(f"delivery {number}: {type(exc).__name__}: {exc}"[:200])
            return
        if response["status"] == "duplicate":
            with self.lock:
                self.done = True

    def run(self) -> None:
        if self.scenario.concurrent > 1:
            threads = [threading.Thread(target=self.deliver) for _ in range(self.scenario.concurrent)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        while not self.done and self.count < MAX_DELIVERIES:
            self.deliver()
        if not self.done:
            self.outcome.unfinished += 1
            self.outcome.problems.append("never finished")
        for _ in range(self.scenario.duplicates):
            self.deliver()

    @property
    def reports(self) -> list[TradeExecuted]:
        return [e for e in self.publisher.events if isinstance(e, TradeExecuted)]


def _check(scenario: Scenario, deliverer: _Deliverer, orders: list[tuple[str, Decimal, str]], outcome: Outcome) -> None:
    coids = _coids(scenario)
    counts: dict[str, int] = {}
    state: dict[str, tuple[Decimal, str]] = {}
    for coid, filled, status in orders:
        if coid.startswith("seed-"):
            continue
        counts[coid] = counts.get(coid, 0) + 1
        state[coid] = (filled, status)
    outcome.planned += len(coids)
    outcome.refused += sum(1 for symbol in coids if symbol in scenario.refused)
    outcome.at_broker += sum(counts.values())
    outcome.duplicated += sum(n - 1 for n in counts.values() if n > 1)
    unexpected = set(counts) - set(coids.values())
    if unexpected:
        outcome.duplicated += len(unexpected)
        outcome.problems.append(f"unexpected orders {sorted(unexpected)}")
    reports = deliverer.reports
    final = reports[-1] if reports else None
    reported = {r.client_order_id: r for r in final.orders} if final else {}
    for symbol, coid in coids.items():
        present = counts.get(coid, 0)
        result = reported.get(coid)
        if symbol in scenario.refused:  # rejected at the POST; or, if that reply was lost too, unknown (failed)
            if present or result is None or result.status not in ("rejected", "failed"):
                outcome.misreported += 1
                outcome.problems.append(f"{coid} should be refused and reported not placed: {present}, {result}")
            continue
        if present == 0:
            outcome.lost += 1
            outcome.problems.append(f"{coid} lost (reported {result.status if result else None})")
            continue
        if result is None or result.broker_order_id is None:
            outcome.misreported += 1
            outcome.problems.append(f"{coid} at the broker but reported {result}")
            continue
        expected_status = "rejected" if symbol in scenario.rejected_later else None
        filled, status = state[coid]
        if expected_status and result.status != expected_status:
            outcome.misreported += 1
            outcome.problems.append(f"{coid} should be reported rejected, got {result.status}")
        elif status in ("filled", "canceled", "rejected") and result.filled_qty != filled:
            outcome.misreported += 1
            outcome.problems.append(f"{coid} reported filled {result.filled_qty}, broker says {filled}")
    if final is not None and len(final.orders) != len(scenario.orders):
        outcome.misreported += 1
        outcome.problems.append(f"final report lists {len(final.orders)} of {len(scenario.orders)} orders")


def run_scenario(scenario: Scenario) -> Outcome:
    outcome = Outcome()
    clock = SimClock()
    with tempfile.TemporaryDirectory(prefix="fault-exec-") as tmp:
        state_dir = Path(tmp)
        world = _alpaca_world(scenario, clock) if scenario.broker == "alpaca" else _sim_world(scenario, state_dir)
        with world as (broker, handle):
            deliverer = _Deliverer(scenario, broker, state_dir, clock, outcome)
            deliverer.run()
            _check(scenario, deliverer, _broker_orders(scenario.broker, handle), outcome)
    return outcome


@dataclass
class Figures:
    scenarios: int = 0
    alpaca: int = 0
    sim: int = 0
    totals: Outcome = field(default_factory=Outcome)
    kinds: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[int, list[str]]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, scenario: Scenario, outcome: Outcome) -> None:
        self.scenarios += 1
        if scenario.broker == "alpaca":
            self.alpaca += 1
        else:
            self.sim += 1
        for kind in scenario.kinds:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        for name in ("deliveries", "duplicate_deliveries", "crashes", "retried_errors", "planned", "refused",
                     "at_broker", "duplicated", "lost", "misreported", "unfinished"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(outcome, name))
        if outcome.duplicated or outcome.lost or outcome.misreported or outcome.unfinished:
            self.failures.append((scenario.index, outcome.problems))

    def table(self) -> str:
        t = self.totals
        rows = [
            ("scenarios", f"{self.scenarios} ({self.alpaca} fake Alpaca via alpaca-py, {self.sim} simulated)"),
            ("deliveries", t.deliveries),
            ("duplicate deliveries", t.duplicate_deliveries),
            ("crashes (killed right after a submission)", t.crashes),
            ("deliveries refused or errored (retried)", t.retried_errors),
            ("orders planned", t.planned),
            ("  refused by the broker at the POST", t.refused),
            ("orders at broker", t.at_broker),
            ("duplicated", t.duplicated),
            ("lost", t.lost),
            ("misreported", t.misreported),
            ("unfinished", t.unfinished),
            ("time", f"{self.seconds:.1f} s"),
        ]
        rows += [(f"  with {kind}", count) for kind, count in sorted(self.kinds.items())]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def run(scenarios: int, seed: int, *, alpaca_share: float = 0.6) -> Figures:
    figures = Figures()
    started = time.perf_counter()
    for index in range(scenarios):
        scenario = generate(seed, index, alpaca_share=alpaca_share)
        figures.add(scenario, run_scenario(scenario))
    figures.seconds = time.perf_counter() - started
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--alpaca-share", type=float, default=0.6,
                        help="share of scenarios run against the fake Alpaca server (the rest: simulated broker)")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)  # the faults are expected; keep the figures readable
    figures = run(args.scenarios, args.seed, alpaca_share=args.alpaca_share)
    print(figures.table())
    for index, problems in figures.failures[:20]:
        print(f"scenario {index}: " + "; ".join(problems[:5]), file=sys.stderr)
    ok = not (figures.totals.duplicated or figures.totals.lost or figures.totals.misreported
              or figures.totals.unfinished)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
