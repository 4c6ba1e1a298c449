"""The backtest's account over the range: each session's plan and orders through the chain's own steps.

For each session, against the simulated account valued at the session's fill prices:
1. **Plan** — the portfolio's step (`services.portfolio.day.plan_day`): the user's position cap in
   clip mode, the planner, its safety check.
2. **Limits and legs** — the execution's step (`services.execution.day.prepare`): the workflow's
   limits on what the plan buys (a plan that breaks one places nothing that day, as in the chain:
   a `BlockedDay`), then the legs (whole shares where an asset is not fractionable); the day's
   turnover cap is the turnover ledger's own rule (`turnover_ledger.decide`), one run a day.
3. **Fills** — sells first, then the buys fitted to the buying power left
   (`services.execution.legs.fit_to_budget`, with the execution function's margin), each by the fill
   model (fills.py).
The backtest's own parts are only its fast path, its prices and its fill model.

A strategy's solo run (attribution) has no account-level limits (they bound the whole account, not
one strategy's share), but holds on the sessions the portfolio was blocked: it shows what the
strategy made of the account's trading days, never a return the account did not have.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alchemiser.backtest.fills import CENT, Fill, FillModel, SimAccount

if TYPE_CHECKING:
    from alchemiser.backtest.sessions import BacktestConfig, DayPrices, DayTarget
    from services.portfolio.planner import Parameters
    from shared.limits.model import LimitBinding, Limits

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EquityRow:
    trade_date: date
    equity: Decimal
    cash: Decimal
    invested: Decimal


@dataclass(frozen=True)
class DayNote:
    trade_date: date
    text: str


@dataclass(frozen=True)
class BlockedDay:
    """A session a limit stopped (or, in `Simulation.clipped`, shaped): which limit, its sentence, its numbers."""

    trade_date: date
    limit: str
    message: str
    values: dict[str, str]


@dataclass
class Simulation:
    """One account's history over the range."""

    capital: Decimal
    equity: list[EquityRow] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    notes: list[DayNote] = field(default_factory=list)
    traded_value: Decimal = Decimal(0)
    blocked: list[BlockedDay] = field(default_factory=list)
    """Sessions a limit refused: the plan placed nothing (one entry per binding limit)."""
    clipped: list[BlockedDay] = field(default_factory=list)
    """Sessions the position cap clipped (position_cap = clip)."""
    held: list[date] = field(default_factory=list)
    """A solo run's sessions held because the portfolio was blocked then."""
    plans: dict[date, tuple[Any, ...]] = field(default_factory=dict)
    """Each session's planned orders (the portfolio step's `OrderLine`s), placed or refused."""

    @property
    def fees(self) -> Decimal:
        return sum((f.fee for f in self.fills), Decimal(0))

    @property
    def slippage(self) -> Decimal:
        return sum((f.slippage for f in self.fills), Decimal(0))

    @property
    def blocked_days(self) -> list[date]:
        return sorted({b.trade_date for b in self.blocked})


@dataclass(frozen=True)
class Rules:
    parameters: Parameters
    limits: Limits | None
    """None: no account-level limits (a strategy's solo run for attribution)."""
    margin: Decimal
    fills: FillModel
    non_fractionable: frozenset[str]


def default_parameters() -> Parameters:
    from services.portfolio.app import parameters_of
    from services.portfolio.settings import PortfolioSettings

    return parameters_of(PortfolioSettings.model_validate({"backend": "local"}))


def default_margin() -> Decimal:
    from services.execution.settings import ExecutionSettings

    return ExecutionSettings.model_validate({"backend": "local"}).buying_power_margin


def rules_of(config: BacktestConfig) -> Rules:
    from shared.limits.model import Limits

    return Rules(config.parameters or default_parameters(), config.limits or Limits(),
                 default_margin() if config.buying_power_margin is None else config.buying_power_margin,
                 config.fills, config.non_fractionable)


def simulate(targets: Sequence[DayTarget], capital: Decimal, rules: Rules, prices: DayPrices,
             progress: Progress | None = None, phase: str = "simulate", hold_on: frozenset[date] = frozenset()
             ) -> Simulation:
    """The account day by day; on the sessions in `hold_on` nothing is traded (a solo run on the days the
    portfolio was blocked)."""
    sim = Simulation(capital)
    account = SimAccount(capital)
    for index, target in enumerate(targets):
        if target.trade_date in hold_on:
            sim.held.append(target.trade_date)
        else:
            trade_day(target, account, sim, rules, prices.on(target.trade_date))
        closes = prices.closes(account.positions)
        equity = account.equity(closes)
        sim.equity.append(EquityRow(target.trade_date, equity, account.cash, equity - account.cash))
        if progress is not None:
            progress(phase, index + 1, len(targets))
    return sim


def trade_day(target: DayTarget, account: SimAccount, sim: Simulation, rules: Rules, prices: DayPrices) -> None:
    """Plan against the account at D's fill prices, check the limits, then fill sells and the fitted buys."""
    from services.portfolio.day import plan_day, priced_symbols
    from services.portfolio.planner import AccountView, Holding, PlanInputs
    from services.portfolio.validation import Rejection
    from shared.limits.model import DEFAULTS

    day = target.trade_date
    limits = rules.limits or DEFAULTS
    symbols = sorted(priced_symbols(target.weights, list(account.positions), limits))
    at = prices.fills(symbols)
    values = account.values(at)
    make = Holding._make  # the named tuple's C constructor: hundreds of positions a session
    holdings = {s: make((s, q, values[s], at[s])) for s, q in account.positions.items()}
    equity = account.cash + sum(values.values(), Decimal(0))
    if equity <= 0:
        sim.notes.append(DayNote(day, f"equity {equity}: nothing can be planned"))
        return
    captured = datetime(day.year, day.month, day.day, 14, 35, tzinfo=UTC)
    whole, fractional = _tradability()
    inputs = PlanInputs(
        correlation_id=f"backtest-{day.isoformat()}", signal_event_id=f"backtest-{day.isoformat()}",
        target_weights=target.weights, strategies=target.strategies,
        account=AccountView("ACTIVE", equity, account.cash, account.buying_power, captured),
        holdings=holdings,
        assets={s: whole if s in rules.non_fractionable else fractional for s in at} if rules.non_fractionable
        else dict.fromkeys(at, fractional),
        prices={s: p for s, p in at.items() if s not in holdings},
        parameters=rules.parameters,
        limits=limits,
    )
    planned = plan_day(inputs, limits, account.positions, identify=False)  # it bought all it holds
    if isinstance(planned, Rejection):
        sim.notes.append(DayNote(day, f"plan failed closed ({planned.error_type}): {planned.reason}"))
        return
    sim.clipped += [_day(day, b) for b in planned.bindings]
    sim.plans[day] = planned.plan.orders
    if not planned.plan.orders:
        return
    legs = _legs(planned.plan.orders, day, at, values, equity, rules, sim)
    if legs is None:
        return
    stamp = day.isoformat()
    for leg in legs[0]:
        if leg.side == "sell":
            assert leg.qty is not None
            _record(sim, account.sell(stamp, leg.symbol, leg.qty, at[leg.symbol], rules.fills))
    for skip in legs[1]:
        sim.notes.append(DayNote(day, f"{skip.leg.symbol}: {skip.reason}"))
    for leg in _fitted_buys([leg for leg in legs[0] if leg.side == "buy"], account, rules, sim, day):
        _record(sim, account.buy(stamp, leg.symbol, leg.qty, leg.notional, at[leg.symbol], leg.fractionable,
                                 rules.fills))


@functools.cache
def _tradability() -> tuple[Any, Any]:
    """(not fractionable, fractionable): one of each serves every symbol of every session."""
    from services.portfolio.planner import Tradability

    return Tradability(False), Tradability(True)


def _legs(orders: Sequence[Any], day: date, at: dict[str, Decimal], positions: dict[str, Decimal], equity: Decimal,
          rules: Rules, sim: Simulation) -> tuple[list[Any], list[Any]] | None:
    """The execution step on the day's plan: (legs, unplaceable), or None when a limit refused it (recorded)."""
    from services.execution.day import LimitRefusal, daily_cap, prepare
    from services.execution.legs import legs_of
    from services.execution.turnover_ledger import decide
    from shared.limits.rules import daily_binding, describe

    stamp = f"bt-{day:%Y%m%d}-"
    ids = [f"{stamp}{o.symbol}-{o.side}" for o in orders]
    if rules.limits is None:
        return legs_of(orders, ids, at)
    prepared = prepare(orders, ids=ids, prices=at, positions=positions, equity=equity, limits=rules.limits)
    bindings: tuple[LimitBinding, ...] = ()
    if isinstance(prepared, LimitRefusal):
        bindings = prepared.bindings
    else:
        cap, amount = daily_cap(rules.limits, equity), prepared.buys.quantize(CENT)
        reservation, _ = decide({}, f"backtest-{day.isoformat()}", amount, cap, legs={}, now=0.0)
        if not reservation.granted:
            bindings = (daily_binding(rules.limits, amount=amount, used_before=Decimal(0), cap=cap,
                                      account="backtest"),)
    if bindings or isinstance(prepared, LimitRefusal):
        sim.blocked += [_day(day, b) for b in bindings]
        # not "blocked": the tearsheet marks these days from `blocked` (BacktestResult.blocked), once each
        sim.notes.append(DayNote(day, f"nothing placed: {describe(bindings)}"))
        return None
    return prepared.legs, prepared.unplaceable


def _day(day: date, binding: LimitBinding) -> BlockedDay:
    return BlockedDay(day, binding.limit, binding.message, dict(binding.values))


def _fitted_buys(buys: Sequence[Any], account: SimAccount, rules: Rules, sim: Simulation, day: date) -> list[Any]:
    """The buy legs fitted to the buying power x (1 - margin) left after the sells, as execution fits them."""
    from services.execution.legs import fit_to_budget

    if not buys:
        return []
    budget = (account.buying_power * (1 - rules.margin)).quantize(CENT)
    fit = fit_to_budget(buys, budget)
    if fit.note:
        sim.notes.append(DayNote(day, fit.note))
    for skip in fit.skipped:
        sim.notes.append(DayNote(day, f"{skip.leg.symbol}: {skip.reason}"))
    return list(fit.legs)


def _record(sim: Simulation, fill: Fill) -> None:
    sim.fills.append(fill)
    if fill.rejected is not None:
        sim.notes.append(DayNote(date.fromisoformat(fill.trade_date), f"{fill.symbol} {fill.side} rejected: "
                                                                      f"{fill.rejected}"))
    else:
        sim.traded_value += fill.amount
