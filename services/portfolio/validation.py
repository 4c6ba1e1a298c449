"""The portfolio's safety checks: each returns None, or a Rejection saying why nothing is planned.

The envelope middleware has already validated the event's shape; these re-check what a plan
relies on (weights, the account, the broker's view of the symbols) and the finished plan
itself, so a bad input or a planner bug ends the workflow failed, never as orders.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from services.portfolio.planner import ZERO, Plan, PlanInputs
from shared.broker.port import Account, Asset, Position
from shared.events.signal_generated import SignalGenerated

WEIGHT_TOLERANCE = Decimal("0.000001")
ACTIVE = "ACTIVE"
MAX_LISTED = 10


@dataclass(frozen=True)
class Rejection:
    """Why the workflow fails closed at the portfolio step."""

    error_type: str
    reason: str
    details: dict[str, str] = field(default_factory=dict)


def _listed(symbols: Collection[str]) -> str:
    ordered = sorted(symbols)
    more = f" and {len(ordered) - MAX_LISTED} more" if len(ordered) > MAX_LISTED else ""
    return ", ".join(ordered[:MAX_LISTED]) + more


def _bad(value: Decimal) -> bool:
    return not value.is_finite() or value < 0


# ---------------------------------------------------------------------------------------- signal


def check_signal(signal: SignalGenerated) -> Rejection | None:
    """Weights non-negative and summing to 1 (within 1e-6); strategies adding up to the targets."""
    targets = signal.target_weights
    negative = {s for s, w in targets.items() if _bad(w)}
    if negative:
        return Rejection("InvalidWeights", f"target weights must be finite and non-negative: {_listed(negative)}",
                         {"symbols": ",".join(sorted(negative))})
    total = sum(targets.values(), ZERO)
    if abs(total - 1) > WEIGHT_TOLERANCE:
        return Rejection("WeightsDoNotSumToOne",
                         f"target weights sum to {total}, not 1 (tolerance {WEIGHT_TOLERANCE})",
                         {"weight_sum": str(total)})
    return _check_strategies(signal)


def _check_strategies(signal: SignalGenerated) -> Rejection | None:
    names = [s.name for s in signal.strategies]
    if len(set(names)) != len(names):
        return Rejection("InvalidStrategies", f"strategy names must be unique, got {', '.join(names)}")
    contributed: dict[str, Decimal] = {}
    for strategy in signal.strategies:
        values = [strategy.allocation, *strategy.weights.values()]
        if strategy.rebalance_threshold is not None:
            values.append(strategy.rebalance_threshold)
        if any(_bad(v) for v in values):
            return Rejection("InvalidWeights", f"strategy {strategy.name!r}: allocation, weights and threshold "
                             "must be finite and non-negative")
        for symbol, weight in strategy.weights.items():
            contributed[symbol] = contributed.get(symbol, ZERO) + strategy.allocation * weight
    off = {s for s in contributed.keys() | signal.target_weights.keys()
           if abs(contributed.get(s, ZERO) - signal.target_weights.get(s, ZERO)) > WEIGHT_TOLERANCE}
    if off:
        return Rejection("AttributionMismatch",
                         "the strategies' allocation x weight do not add up to the target weights for "
                         f"{_listed(off)}; the plan could not say which strategy wants what",
                         {"symbols": ",".join(sorted(off))})
    return None


# ---------------------------------------------------------------------------------------- account


def check_account(account: Account, signal_time: datetime) -> Rejection | None:
    """Tradable, with equity, and read after the signal was produced."""
    if account.account_blocked or account.trading_blocked:
        what = "account" if account.account_blocked else "trading"
        return Rejection("AccountBlocked", f"the broker reports the {what} as blocked; nothing planned",
                         {"status": account.status})
    if account.status.upper() != ACTIVE:
        return Rejection("AccountNotActive", f"the account status is {account.status!r}, not {ACTIVE}",
                         {"status": account.status})
    if not account.equity.is_finite() or account.equity <= 0:
        return Rejection("NoEquity", f"the account's equity is {account.equity}: nothing to allocate",
                         {"equity": str(account.equity)})
    if account.captured_at < signal_time:
        return Rejection("StaleSnapshot",
                         f"the account snapshot ({account.captured_at.isoformat()}) is older than the signal "
                         f"({signal_time.isoformat()})",
                         {"captured_at": account.captured_at.isoformat(), "signal_at": signal_time.isoformat()})
    return None


def check_positions(positions: Sequence[Position]) -> Rejection | None:
    """Long positions only, each with a price, each symbol once."""
    short = {p.symbol for p in positions if p.qty < 0}
    if short:
        return Rejection("ShortPosition", f"short positions in {_listed(short)}: this system only holds long "
                         "positions; resolve them by hand", {"symbols": ",".join(sorted(short))})
    unpriced = {p.symbol for p in positions if p.qty > 0 and (not p.current_price.is_finite()
                                                              or p.current_price <= 0)}
    if unpriced:
        return Rejection("MissingPrice", f"no current price for the positions in {_listed(unpriced)}",
                         {"symbols": ",".join(sorted(unpriced))})
    symbols = [p.symbol for p in positions]
    if len(set(symbols)) != len(symbols):
        return Rejection("DuplicatePosition", "the broker reported a symbol twice among the positions")
    return None


def check_assets(targets: Mapping[str, Decimal], held: Collection[str],
                 assets: Mapping[str, Asset]) -> Rejection | None:
    """Every symbol known to the broker; every symbol with a target weight tradable."""
    unknown = {s for s in (*targets, *held) if s not in assets}
    if unknown:
        return Rejection("UnknownSymbol", f"unknown to the broker: {_listed(unknown)}",
                         {"symbols": ",".join(sorted(unknown))})
    untradable = {s for s, w in targets.items() if w > 0
                  and (not assets[s].tradable or assets[s].status.lower() != "active")}
    if untradable:
        return Rejection("NotTradable", f"not tradable at the broker: {_listed(untradable)}",
                         {"symbols": ",".join(sorted(untradable))})
    return None


def check_prices(needed: Collection[str], prices: Mapping[str, Decimal]) -> Rejection | None:
    """A positive price for every symbol to be bought that is not held."""
    missing = {s for s in needed if s not in prices or not prices[s].is_finite() or prices[s] <= 0}
    if missing:
        return Rejection("MissingPrice", f"no latest price for {_listed(missing)}",
                         {"symbols": ",".join(sorted(missing))})
    return None


# ---------------------------------------------------------------------------------------- the plan


def check_plan(plan: Plan, inputs: PlanInputs) -> Rejection | None:
    """The finished plan against the rules it must never break (a planner bug fails closed)."""
    problems = [*_order_problems(plan, inputs), *_budget_problems(plan, inputs)]
    if problems:
        return Rejection("PlanCheckFailed", "the plan broke a safety rule: " + "; ".join(problems[:MAX_LISTED]))
    return None


def _order_problems(plan: Plan, inputs: PlanInputs) -> list[str]:
    problems: list[str] = []
    symbols = [o.symbol for o in plan.orders]
    if len(set(symbols)) != len(symbols):
        problems.append("a symbol has more than one order")
    seen_buy = False
    for order in plan.orders:
        held = inputs.holdings.get(order.symbol)
        amount = order.qty if order.qty is not None else order.notional
        if (order.qty is None) == (order.notional is None) or amount is None or amount <= 0:
            problems.append(f"{order.symbol}: needs exactly one positive qty or notional")
        elif order.side == "sell":
            if seen_buy:
                problems.append(f"{order.symbol}: a sell after a buy")
            if held is None or order.qty is None or order.qty > held.qty:
                problems.append(f"{order.symbol}: sells more than is held")
            elif order.full_exit and order.qty != held.qty:
                problems.append(f"{order.symbol}: a full exit that is not the exact quantity held")
        seen_buy = seen_buy or order.side == "buy"
        if not order.fractionable and not order.full_exit and (
                order.notional is not None or (order.qty is not None and order.qty != order.qty.to_integral_value())):
            problems.append(f"{order.symbol}: a fractional order for an asset that is not fractionable")
        if order.notional is not None and order.notional < inputs.parameters.min_notional:
            problems.append(f"{order.symbol}: notional under the broker's minimum")
        signed = order.estimated_value if order.side == "buy" else -order.estimated_value
        if sum(order.attribution.values(), ZERO) != signed:
            problems.append(f"{order.symbol}: attribution does not add up to the order")
    return problems


def _budget_problems(plan: Plan, inputs: PlanInputs) -> list[str]:
    account = inputs.account
    proceeds = sum((o.estimated_value for o in plan.sells), ZERO)
    spent = sum((o.estimated_value for o in plan.buys), ZERO)
    available = max(ZERO, min(account.cash, account.buying_power))
    if spent > available + proceeds:
        return [f"buys of {spent} exceed cash/buying power {available} + expected sell proceeds {proceeds}"]
    return []
