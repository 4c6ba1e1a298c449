"""Running one plan at the broker: the gates, then sells, wait, cancel, buys, wait, cancel.

The kill switch is read before the sell leg and again before the buy leg: a switch set to reducing
or halted while the sells run stops the buys.

A *fresh* run (the workflow guard has no claim for this plan yet) passes every gate before its
first order, in this order, and otherwise returns `Refused` (nothing placed, nothing claimed):
  kill switch halted -> trading mode mismatch -> market closed (broker clock) -> stale plan
  (planned for another trading day) -> empty plan (reported `empty`) -> account blocked ->
  the workflow's limits (the plan carries them: day.py `limit_check`; they count buys only, so a
  plan that only sells is never refused) -> kill switch reducing with no sells in the plan -> the
  daily turnover cap across every run of the day on the account (turnover_ledger.py: reserved
  last, once per plan, what the plan buys).
Then it claims the workflow (layer 2) and places orders. Once the legs are placed, waited on and
canceled, the run settles its reservation to the buys that reached the broker (`reached`).

A *resumed* run (this plan already claimed the workflow: an earlier run crashed or was cut off)
does not re-check the plan's risk: it passed before the first order, and the account now holds
that run's fills, so re-checking would count them twice. It still reads the kill switch, the
clock and the date: if any now forbids trading it only adopts what exists and places nothing new.
It reserves its turnover again before placing anything new (renewing its lease; if a later run
settled its stale entry from the broker's book meanwhile, a new reservation against the cap): refused,
it adopts what exists and places nothing new (turnover_ledger.py, the rule for crashes).

`execute` returns what happened as a value (`Outcome`): `Ran` (orders placed, adopted or skipped:
the report), `Refused` (a gate said no: nothing placed), `Taken` (another plan holds the workflow)
or `AlreadyDone` (the guard says this plan finished or was refused earlier). The caller
(app.py) turns each into a response; none of them is an exception.

Every leg is looked up before it could be submitted (placer.py), in both kinds of run. No sell is
submitted above the shares the broker says are available for it (`qty_available`, re-read right
before the sell leg): the system never opens a short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from services.execution.day import daily_cap, limit_check
from services.execution.kill_switch import KillSwitch, KillSwitchReading
from services.execution.legs import Leg, Skip, build_legs, fit_to_budget, planned_value, workflow_key
from services.execution.placer import Placement, Placer
from services.execution.turnover_ledger import Entry, TurnoverLedger
from services.execution.workflow_guard import WorkflowClaim, WorkflowGuard
from shared.broker.order_ids import plan_order_ids
from shared.broker.port import Account, Broker, BrokerError, Order
from shared.events.rebalance_planned import RebalancePlanned
from shared.events.trade_executed import ExecutionStatus
from shared.limits.model import LimitBinding, Limits
from shared.limits.rules import daily_binding, describe
from shared.runtime import metric_names
from shared.runtime.clock import trading_date
from shared.runtime.observability import make_logger

logger = make_logger("execution")


@dataclass(frozen=True)
class Refused:
    """The plan is not executed now: nothing was placed and the workflow was not claimed."""

    status: ExecutionStatus
    cause: str
    switch: KillSwitchReading
    metric: str | None = None
    bindings: tuple[LimitBinding, ...] = ()
    """The limits that refused the plan: a retry with the same limits would be refused the same way."""

    @property
    def reason(self) -> str:
        return f"{self.cause}; nothing placed"


@dataclass(frozen=True)
class Taken:
    """Another plan already executed (or is executing) this workflow: nothing was placed."""

    claim: WorkflowClaim


@dataclass(frozen=True)
class AlreadyDone:
    """The guard says this plan already finished (or was refused, final): nothing was done."""

    claim: WorkflowClaim
    switch: KillSwitchReading


@dataclass(frozen=True)
class Ran:
    """The plan ran: every leg placed, adopted or skipped, in plan order."""

    placements: tuple[Placement, ...]
    switch: KillSwitchReading
    """The last reading: the one that stopped the buys when it changed after the sells."""
    account_before: Account | None = None
    account_after: Account | None = None
    notes: tuple[str, ...] = ()
    resumed: bool = False
    empty: bool = False


Outcome = Ran | Refused | Taken | AlreadyDone
"""What `execute` did with a plan."""


class Ports(Protocol):
    """What running a plan needs (dependencies.Dependencies provides it as is; the placer comes per invocation)."""

    @property
    def broker(self) -> Broker: ...
    @property
    def kill_switch(self) -> KillSwitch: ...
    @property
    def guard(self) -> WorkflowGuard: ...
    @property
    def limits(self) -> Limits: ...
    """The limits of a plan that carries none (published before limits travelled with the plan)."""
    @property
    def trading_mode(self) -> str: ...
    @property
    def buying_power_margin(self) -> Decimal: ...
    @property
    def turnover(self) -> TurnoverLedger: ...


def _gate(plan: RebalancePlanned, deps: Ports, switch: KillSwitchReading) -> Refused | None:
    if switch.state == "halted":
        return Refused("halted", switch.describe(), switch,
                       metric=metric_names.KILL_SWITCH_BLOCKS)
    if plan.trading_mode != deps.trading_mode:
        return Refused("rejected", f"the plan is for {plan.trading_mode} trading but this stage trades "
                                   f"{deps.trading_mode}", switch)
    clock = deps.broker.get_clock()
    if not clock.is_open:
        return Refused("market_closed", f"market closed at {clock.timestamp.isoformat()} (next open "
                                        f"{clock.next_open.isoformat()})", switch)
    today: date = trading_date(clock.timestamp)
    if plan.trading_date != today:
        return Refused("rejected", f"stale plan: planned for {plan.trading_date}, the broker's date is {today}",
                       switch)
    return None


def _prices(plan: RebalancePlanned, broker: Broker) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(prices, position market values) from the broker; prices only where an amount needs one."""
    positions = broker.get_positions()
    prices = {p.symbol: p.current_price for p in positions if p.current_price > 0}
    values = {p.symbol: p.market_value for p in positions}
    needed = sorted({o.symbol for o in plan.orders
                     if (o.qty is not None or not o.fractionable) and o.symbol not in prices})
    if needed:
        prices.update(broker.get_latest_prices(needed))
    return prices, values


def _check_fresh(plan: RebalancePlanned, deps: Ports, switch: KillSwitchReading,
                 account: Account, legs: Sequence[Leg], prices: dict[str, Decimal],
                 values: dict[str, Decimal]) -> Refused | None:
    if account.trading_blocked or account.account_blocked or account.status.upper() != "ACTIVE":
        return Refused("failed", f"the broker account is not tradable (status {account.status}, trading_blocked "
                                f"{account.trading_blocked}, account_blocked {account.account_blocked})", switch)
    limits = limits_of(plan, deps)
    exposures, bindings = limit_check(plan.orders, prices=prices, positions=values, equity=account.equity,
                                      limits=limits)
    if bindings:
        return Refused("rejected", describe(bindings), switch, metric=metric_names.RISK_LIMIT_BREACHES,
                       bindings=bindings)
    if switch.state == "reducing" and not any(leg.side == "sell" for leg in legs):
        return Refused("halted", f"{switch.describe()}: sells only, and the plan has no sells", switch,
                      metric=metric_names.KILL_SWITCH_BLOCKS)
    bought = sum((e.value for e in exposures if e.side == "buy"), Decimal(0))
    return _reserve_turnover(plan, deps, switch, account, bought)


def limits_of(plan: RebalancePlanned, deps: Ports) -> Limits:
    """The workflow's limits, as the plan carries them (the strategy step resolved them)."""
    return plan.limits if plan.limits is not None else deps.limits


def _reserve_turnover(plan: RebalancePlanned, deps: Ports, switch: KillSwitchReading, account: Account,
                      planned: Decimal) -> Refused | None:
    """The daily cap across every run of the day on this account (turnover_ledger.py), reserved last: what
    the plan buys (sells are never limited). Refused while another run's entry is stale (its lease expired
    unsettled): that entry is settled from the broker's book, and the reservation asked again."""
    limits = limits_of(plan, deps)
    cap = daily_cap(limits, account.equity)
    amount = planned.quantize(Decimal("0.01"))
    legs = _ledger_legs(plan, account)
    reservation = deps.turnover.reserve(account.account_id, plan.trading_date, plan.plan_id, amount, cap, legs=legs)
    if not reservation.granted and reservation.stale:
        for other, entry in reservation.stale.items():
            value = _on_the_books(deps.broker, entry)
            if value is not None:
                deps.turnover.settle(account.account_id, plan.trading_date, other, value,
                                     stale_since=entry.lease_until)
        reservation = deps.turnover.reserve(account.account_id, plan.trading_date, plan.plan_id, amount, cap,
                                            legs=legs)
    if not reservation.granted:
        binding = daily_binding(limits, amount=amount, used_before=reservation.used_before, cap=cap,
                                account=account.account_id)
        return Refused("rejected", describe([binding]), switch, metric=metric_names.RISK_LIMIT_BREACHES,
                       bindings=(binding,))
    return None


def _ledger_legs(plan: RebalancePlanned, account: Account) -> dict[str, Decimal]:
    """Client order id -> planned value of each of the plan's buys (what a stale entry is settled by: the
    day's cap counts buys only)."""
    ids = plan_order_ids(workflow_key(plan, account.account_id), [(o.symbol, o.side) for o in plan.orders])
    return {coid: planned_value(o, o.reference_price).quantize(Decimal("0.01"))
            for coid, o in zip(ids, plan.orders, strict=True) if o.side == "buy"}


def _order_value(order: Order, planned: Decimal) -> Decimal:
    """What an order at the broker counts on the day: its fills once final, at least its planned value while open."""
    filled = order.filled_qty * (order.filled_avg_price or Decimal(0))
    return filled if order.is_terminal else max(filled, planned)


def reached(placements: Sequence[Placement]) -> Decimal:
    """The buys that reached the broker (the day's cap counts buys only): orders there (filled, or still
    open), and legs whose outcome is unknown (they may be there); nothing for legs refused, failed or never
    placed, nor for sells."""
    total = Decimal(0)
    for placement in placements:
        if placement.leg.side != "buy":
            continue
        if placement.order is not None:
            total += _order_value(placement.order, placement.leg.value)
        elif placement.how == "unknown":
            total += placement.leg.value
    return total.quantize(Decimal("0.01"))


def _on_the_books(broker: Broker, entry: Entry) -> Decimal | None:
    """A stale entry's value from the broker's book (its legs looked up); None when a look-up failed."""
    total = Decimal(0)
    for coid, planned in entry.legs.items():
        try:
            order = broker.get_order_by_client_id(coid)
        except BrokerError:
            return None
        if order is not None:
            total += _order_value(order, planned)
    return total.quantize(Decimal("0.01"))


def _renew_turnover(plan: RebalancePlanned, deps: Ports, switch: KillSwitchReading, account: Account,
                    prices: dict[str, Decimal]) -> Refused | None:
    """A resumed run's reservation before it places anything new (the module docstring): what it buys."""
    planned = sum((planned_value(o, prices.get(o.symbol, o.reference_price)) for o in plan.orders
                   if o.side == "buy"), Decimal(0))
    return _reserve_turnover(plan, deps, switch, account, planned)


def _settle_turnover(plan: RebalancePlanned, deps: Ports, account: Account, placements: Sequence[Placement]) -> None:
    amount = reached(placements)
    try:
        deps.turnover.settle(account.account_id, plan.trading_date, plan.plan_id, amount)
    except Exception:  # the orders are placed: report them; the entry stays reserved, later settled from the book
        logger.exception("could not settle the day's turnover reservation of plan %s at $%s", plan.plan_id, amount)


def execute(plan: RebalancePlanned, deps: Ports, placer: Placer) -> Outcome:
    """Run the plan (see the module docstring): what happened, as a value."""
    held = deps.guard.peek(plan.correlation_id)
    if held is not None and held.held_by_other(plan.plan_id):
        return Taken(held)
    switch = deps.kill_switch.read()
    if held is not None and held.done:  # finished, or refused: final either way
        return AlreadyDone(held, switch)
    resumed = held is not None
    blocked = _gate(plan, deps, switch)
    if blocked is not None and not resumed:
        return blocked
    if not plan.orders:
        claim = deps.guard.claim(plan.correlation_id, plan.plan_id)
        if claim.held_by_other(plan.plan_id):
            return Taken(claim)
        account = deps.broker.get_account()  # recorded on every completed day, orders or not
        return Ran((), switch, account_before=account, account_after=account, empty=True)

    account = deps.broker.get_account()
    prices, values = _prices(plan, deps.broker)
    legs, unplaceable = build_legs(plan, prices, account.account_id)
    if not resumed:
        refused = _check_fresh(plan, deps, switch, account, legs, prices, values)
        if refused is not None:
            return refused
        claim = deps.guard.claim(plan.correlation_id, plan.plan_id)
        if claim.held_by_other(plan.plan_id):
            return Taken(claim)
    elif blocked is None:
        blocked = _renew_turnover(plan, deps, switch, account, prices)
    ran = _place(deps, placer, switch, account, resumed, blocked, legs, unplaceable)
    _settle_turnover(plan, deps, account, ran.placements)
    return ran


def _place(deps: Ports, placer: Placer, switch: KillSwitchReading, account: Account, resumed: bool,
           blocked: Refused | None, legs: Sequence[Leg], unplaceable: Sequence[Skip]) -> Ran:
    """Sells, wait, cancel; buys, wait, cancel (the workflow is claimed by this plan)."""
    notes: list[str] = []
    if blocked is not None:
        notes.append(f"resumed after an interruption, but now {blocked.cause}: orders already at the broker "
                     "were adopted, the others not placed")
    may_sell = blocked is None
    may_buy = may_sell and switch.state == "active"
    if may_sell and not may_buy:
        notes.append(f"{switch.describe()}: sells only, buys skipped")

    sells = _sells(deps, placer, [leg for leg in legs if leg.side == "sell"], may_sell, _why_not(blocked, switch),
                   resumed)
    placer.wait(sells)
    placer.cancel_open(sells)

    buy_legs = [leg for leg in legs if leg.side == "buy"]
    if may_buy and buy_legs:  # read fresh before the buy leg too: a switch flipped during the sells stops the buys
        now = deps.kill_switch.read()
        if now.state != "active":
            may_buy, switch = False, now
            notes.append(f"{now.describe()} after the sells: buys skipped")
    buys = _buys(deps, placer, buy_legs, may_buy, _why_not(blocked, switch), notes)
    placer.wait(buys)
    placer.cancel_open(buys)
    account_after = deps.broker.get_account()

    # A leg too small for one whole share now may have been placed by an earlier run at another price.
    skipped = [placer.find(s.leg) or Placement(s.leg, "skipped", error=s.reason) for s in unplaceable]
    placements = tuple(sorted([*sells, *buys, *skipped], key=lambda p: p.leg.index))
    return Ran(placements, switch, account_before=account, account_after=account_after, notes=tuple(notes),
               resumed=resumed)


def _why_not(blocked: Refused | None, switch: KillSwitchReading) -> str:
    if blocked is not None:
        return f"not placed: {blocked.cause}"
    return f"not placed: {switch.describe()} (sells only)"


def _sells(deps: Ports, placer: Placer, legs: Sequence[Leg], allowed: bool, why_not: str,
           resumed: bool) -> list[Placement]:
    """Adopt the sells that exist; submit the rest, each only within the shares the account holds now.

    The holdings are re-read right before the sell leg, and a sell above the broker's
    `qty_available` for its symbol is refused: on a margin account with shorting enabled it would
    open a short, and the system never does."""
    found = {leg.index: placer.find(leg) for leg in legs}
    missing = [leg for leg in legs if found[leg.index] is None]
    available: dict[str, Decimal] = {}
    if allowed and missing:
        available = {p.symbol: p.qty_available for p in deps.broker.get_positions()}
    placements: list[Placement] = []
    for leg in legs:
        existing = found[leg.index]
        if existing is not None:
            placements.append(existing)
        elif not allowed:
            placements.append(Placement(leg, "skipped", error=why_not))
        else:
            short = _short_by(leg, available)
            # A refusal looks the leg up once more: a concurrent run's order under our id explains the
            # missing shares, and is adopted so the report matches the broker.
            placements.append(placer.submit(leg) if short is None else placer.refuse(leg, short, resumed=resumed))
    return placements


def _short_by(leg: Leg, available: dict[str, Decimal]) -> str | None:
    """Why selling `leg` would go short (None: the account holds enough); consumes what it sells."""
    have = max(available.get(leg.symbol, Decimal(0)), Decimal(0))
    qty = leg.qty if leg.qty is not None else (leg.notional or Decimal(0)) / leg.price
    if qty <= have:
        available[leg.symbol] = have - qty
        return None
    return (f"refused: selling {qty} {leg.symbol} exceeds the {have} shares available at the broker; "
            "the system never opens a short")


def _buys(deps: Ports, placer: Placer, legs: Sequence[Leg], allowed: bool, why_not: str,
          notes: list[str]) -> list[Placement]:
    """Adopt the buys that exist; fit the rest to the buying power left now, and submit them."""
    placements: list[Placement] = []
    missing: list[Leg] = []
    for leg in legs:
        found = placer.find(leg)
        if found is not None:
            placements.append(found)
        elif allowed:
            missing.append(leg)
        else:
            placements.append(Placement(leg, "skipped", error=why_not))
    if not missing:
        return placements
    account = deps.broker.get_account()
    budget = (account.buying_power * (1 - deps.buying_power_margin)).quantize(Decimal("0.01"))
    fit = fit_to_budget(missing, budget)
    if fit.note:
        notes.append(fit.note)
    placements.extend(Placement(s.leg, "skipped", error=s.reason) for s in fit.skipped)
    placements.extend(placer.submit(leg) for leg in fit.legs)
    return placements
