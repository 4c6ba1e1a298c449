"""The limits' rule: a plan's buys against the limits (pure: numbers in, bindings out).

Called by the execution step on every plan whatever produced it, at the broker's prices, and by the
backtest and `alchemiser plan` through that step (services/execution/legs.py `prepare`). Values are
dollars against the account's equity:
- largest single buy          its value / equity                       (max_order_equity_fraction)
- what the run buys           the sum of the buys / equity             (max_turnover_equity_fraction)
- resulting position weight   (position now + buys - sells) / equity,  (max_position_weight)
                              for each symbol the plan buys
- buy orders                  how many                                 (max_orders_per_run)
- price sanity                |broker price / plan price - 1|, for a   (max_price_move)
                              buy sized in shares
Sells are never counted (model.py): a plan is refused only for what it buys. The daily cap across
runs is `daily_binding`, applied where the day's reservations are kept (execution's turnover ledger).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from shared.limits.model import LimitBinding, Limits, how_to_change, percent

ZERO = Decimal(0)
MAX_LISTED = 5
"""Symbols a binding names besides the worst (its message stays one readable line)."""


@dataclass(frozen=True)
class Exposure:
    """One planned order valued at the price it will be placed at (value always positive)."""

    symbol: str
    side: Literal["buy", "sell"]
    value: Decimal
    price: Decimal | None = None
    """The broker's price, where the order's size depends on one (a quantity)."""
    reference_price: Decimal | None = None
    """The price the plan was made at."""


def money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _bound(key: str, limits: Limits, message: str, **values: object) -> LimitBinding:
    shown = {k: str(v) for k, v in values.items()}
    return LimitBinding(limit=key, action="refused", message=f"{key} ({limits.text(key)}): {message}",
                        values={"limit": str(limits.value(key)), **shown}, change=how_to_change(key, limits))


def check(orders: Sequence[Exposure], *, equity: Decimal, positions: Mapping[str, Decimal],
          limits: Limits) -> list[LimitBinding]:
    """Every limit the plan's buys break (empty: it may be placed). `positions`: symbol -> market value."""
    buys = [o for o in orders if o.side == "buy"]
    if not buys:
        return []
    if equity <= 0:
        return [LimitBinding(limit="equity", action="refused",
                             message=f"equity is {money(equity)}: no buy can be sized against it",
                             values={"equity": str(equity)})]
    found: list[LimitBinding] = []
    if len(buys) > limits.max_orders_per_run:
        found.append(_bound("max_orders_per_run", limits, f"the plan places {len(buys)} buy orders",
                            orders=len(buys)))
    largest = max(buys, key=lambda o: o.value)
    if largest.value / equity > limits.max_order_equity_fraction:
        found.append(_bound("max_order_equity_fraction", limits,
                            f"buy {largest.symbol} {money(largest.value)} is {percent(largest.value / equity)} "
                            f"of equity {money(equity)}", symbol=largest.symbol, value=largest.value,
                            fraction=(largest.value / equity).quantize(Decimal("0.0001")), equity=equity))
    bought = sum((o.value for o in buys), ZERO)
    if bought / equity > limits.max_turnover_equity_fraction:
        found.append(_bound("max_turnover_equity_fraction", limits,
                            f"the plan buys {money(bought)}, {percent(bought / equity)} of equity {money(equity)}",
                            value=bought, fraction=(bought / equity).quantize(Decimal("0.0001")), equity=equity))
    found += _position(orders, buys, equity, positions, limits)
    found += _prices(buys, limits)
    return found


def resulting_values(orders: Sequence[Exposure], positions: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Symbol -> the position's value once the plan's orders are filled at their prices."""
    resulting: dict[str, Decimal] = {}
    for order in orders:
        base = resulting.get(order.symbol, positions.get(order.symbol, ZERO))
        resulting[order.symbol] = base + (order.value if order.side == "buy" else -order.value)
    return resulting


def _position(orders: Sequence[Exposure], buys: Sequence[Exposure], equity: Decimal,
              positions: Mapping[str, Decimal], limits: Limits) -> list[LimitBinding]:
    resulting = resulting_values(orders, positions)
    bought = {o.symbol for o in buys}
    cap = limits.max_position_weight
    over = sorted(((s, v / equity) for s, v in resulting.items() if s in bought and v / equity > cap),
                  key=lambda item: (-item[1], item[0]))
    if not over:
        return []
    symbol, weight = over[0]
    also = [s for s, _ in over[1:]]
    more = f" and {len(also) - MAX_LISTED} more" if len(also) > MAX_LISTED else ""
    others = f" (also {', '.join(also[:MAX_LISTED])}{more})" if also else ""
    return [_bound("max_position_weight", limits,
                   f"{symbol} would be {percent(weight)} of equity ({money(resulting[symbol])} of {money(equity)})"
                   f"{others}", symbol=symbol, weight=weight.quantize(Decimal("0.0001")), value=resulting[symbol],
                   equity=equity)]


def _prices(buys: Sequence[Exposure], limits: Limits) -> list[LimitBinding]:
    moved = [(o, abs(o.price / o.reference_price - 1)) for o in buys
             if o.price is not None and o.reference_price is not None and o.reference_price > 0]
    worst = max(moved, key=lambda item: item[1], default=None)
    if worst is None or worst[1] <= limits.max_price_move:
        return []
    order, move = worst
    return [_bound("max_price_move", limits,
                   f"{order.symbol} is at {money(order.price or ZERO)} at the broker, {percent(move)} from the "
                   f"plan's {money(order.reference_price or ZERO)}", symbol=order.symbol, price=order.price,
                   reference_price=order.reference_price, move=move.quantize(Decimal("0.0001")))]


def daily_binding(limits: Limits, *, amount: Decimal, used_before: Decimal, cap: Decimal,
                  account: str) -> LimitBinding:
    """The day's cap across runs, refused: what this plan buys on top of what the day's runs reserved."""
    return _bound("max_daily_turnover_equity_fraction", limits,
                  f"this plan buys {money(amount)} and the day's other runs on account {account} already reserved "
                  f"{money(used_before)}, over the day's cap of {money(cap)}", amount=amount,
                  used_before=used_before, cap=cap)


LIMIT_BOUND = "limit bound: "


def describe(bindings: Sequence[LimitBinding]) -> str:
    """A refusal's reason: every binding limit with its numbers, then where to change it."""
    return LIMIT_BOUND + "; ".join(b.line() for b in bindings)


def refused_by_a_limit(reason: str | None) -> bool:
    """Whether a recorded refusal is a limit's (a retry with the same limits is refused the same way)."""
    return bool(reason) and str(reason).startswith(LIMIT_BOUND)
