"""Risk limits, re-checked on every plan whatever produced it (pure: numbers in, breaches out).

Values are dollars measured against the account's equity *at the broker* just before placing:
- largest single order      (notional, or qty x the broker's price) / equity
- turnover                  sum of every order's value / equity
- largest resulting weight  (position value now + buys - sells) / equity, for each symbol the
                            plan buys (a plan that only trims an oversized position is not blocked)
- orders per run            how many orders the plan holds
A plan that breaks any limit places nothing; every breach is reported with its numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.broker.port import Side


@dataclass(frozen=True)
class RiskLimits:
    max_order_equity_fraction: Decimal = Decimal("0.75")
    max_turnover_equity_fraction: Decimal = Decimal("2.10")
    max_position_weight: Decimal = Decimal("0.75")
    max_orders_per_run: int = 100
    max_daily_turnover_equity_fraction: Decimal = Decimal("2.10")
    """What every run of one trading day may trade on the account together (turnover_ledger.py)."""


@dataclass(frozen=True)
class Exposure:
    """One planned order's dollar value (always positive; the side says the direction)."""

    symbol: str
    side: Side
    value: Decimal


@dataclass(frozen=True)
class Breach:
    limit: str
    message: str


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _pct(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def check(
    orders: Sequence[Exposure],
    *,
    equity: Decimal,
    positions: Mapping[str, Decimal],
    limits: RiskLimits,
) -> list[Breach]:
    """Every limit the plan breaks (empty: the plan may be placed). `positions`: symbol -> market value."""
    breaches: list[Breach] = []
    if len(orders) > limits.max_orders_per_run:
        breaches.append(Breach("max_orders_per_run",
                               f"orders per run: {len(orders)} orders (limit {limits.max_orders_per_run})"))
    if not orders:
        return breaches
    if equity <= 0:
        breaches.append(Breach("equity", f"equity is {_money(equity)}: no order can be sized against it"))
        return breaches

    largest = max(orders, key=lambda o: o.value)
    if largest.value / equity > limits.max_order_equity_fraction:
        breaches.append(Breach(
            "max_order_equity_fraction",
            f"largest single order: {largest.side} {largest.symbol} {_money(largest.value)} is "
            f"{_pct(largest.value / equity)} of equity {_money(equity)} "
            f"(limit {_pct(limits.max_order_equity_fraction)})",
        ))

    turnover = sum((o.value for o in orders), Decimal(0))
    if turnover / equity > limits.max_turnover_equity_fraction:
        breaches.append(Breach(
            "max_turnover_equity_fraction",
            f"turnover: {_money(turnover)} is {_pct(turnover / equity)} of equity {_money(equity)} "
            f"(limit {_pct(limits.max_turnover_equity_fraction)})",
        ))

    resulting: dict[str, Decimal] = {}
    for order in orders:
        base = resulting.get(order.symbol, positions.get(order.symbol, Decimal(0)))
        resulting[order.symbol] = base + (order.value if order.side == "buy" else -order.value)
    bought = {o.symbol for o in orders if o.side == "buy"}
    over = sorted(
        ((symbol, value / equity) for symbol, value in resulting.items()
         if symbol in bought and value / equity > limits.max_position_weight),
        key=lambda item: -item[1],
    )
    if over:
        symbol, weight = over[0]
        others = f" (also {', '.join(s for s, _ in over[1:])})" if len(over) > 1 else ""
        breaches.append(Breach(
            "max_position_weight",
            f"largest resulting position: {symbol} would be {_money(resulting[symbol])}, {_pct(weight)} of equity "
            f"{_money(equity)} (limit {_pct(limits.max_position_weight)}){others}",
        ))
    return breaches


def describe(breaches: Sequence[Breach]) -> str:
    return "risk limits broken: " + "; ".join(b.message for b in breaches)
