"""The pre-trade checks `alchemiser plan` prints (plan.py computes the day; these judge it, nothing placed):
the limits as the execution step applies them, buying power net of open orders, fractionable assets, the
market clock, the rate-limit budget and the kill switch."""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from alchemiser.text import when

CENT = Decimal("0.01")


def limits_check(planned: Any, executed: Any) -> dict[str, Any]:
    """The workflow's limits as the run would apply them: clipped targets, and what would refuse the plan."""
    from services.execution.day import LimitRefusal

    limits = planned.inputs.limits
    refused = executed.bindings if isinstance(executed, LimitRefusal) else ()
    lines = [b.line() for b in (*planned.bindings, *refused)]
    detail = "; ".join(lines) if lines else (
        "none binds (" + ", ".join(f"{k} {limits.text(k)}" for k in ("max_position_weight", "max_order_equity_fraction",
                                                                     "max_turnover_equity_fraction")) + ")")
    if refused:
        detail += ": the run would place nothing"
    return {"check": "limits", "ok": not refused, "detail": detail,
            "bindings": [b.model_dump(mode="json") for b in (*planned.bindings, *refused)]}


def checks(args: argparse.Namespace, inputs: Any, plan: Any, broker: Any,
           calendar_checks: list[dict[str, Any]], limits: dict[str, Any]) -> list[dict[str, Any]]:
    from services.execution.file_kill_switch import FileKillSwitch
    from services.execution.settings import KILL_SWITCH_FILE

    found = [*calendar_checks, limits]
    buys = sum((o.estimated_value for o in plan.buys), Decimal(0))
    sells = sum((o.estimated_value for o in plan.sells), Decimal(0))
    reported = inputs.account.buying_power
    orders = open_orders(broker, inputs)
    open_buys = sum((o["open_value"] for o in orders if o["side"] == "buy"), Decimal(0))
    power = reported - open_buys
    detail = (f"buying power ${_cents(power)} net of open buy orders (the broker reports ${_cents(reported)}; "
              + (f"{sum(o['side'] == 'buy' for o in orders)} open buy order(s) may spend ${_cents(open_buys)}"
                 if open_buys else "no open buy orders")
              + f"); planned buys ${buys:,} after sells of ${sells:,}"
              + (f"; buys scaled: {plan.scaling.reason}" if plan.scaling else ""))
    if orders:
        detail += "; open: " + ", ".join(
            f"{o['side']} {o['symbol']} {'qty ' + str(o['qty']) if o['qty'] is not None else '$' + str(o['notional'])}"
            + (f" limit {o['limit_price']}" if o["limit_price"] is not None else "") + f" (~${_cents(o['open_value'])})"
            for o in orders)
    found.append({"check": "buying power", "ok": buys <= power + sells, "detail": detail,
                  "reported_buying_power": reported, "open_buy_value": open_buys, "net_buying_power": power,
                  "open_orders": orders})
    whole = sorted(o.symbol for o in plan.orders if not o.fractionable)
    found.append({"check": "fractionable", "ok": True,
                  "detail": "every order's asset is fractionable" if not whole else
                            f"whole shares only (qty orders, rounded down) for {', '.join(whole)}"})
    try:
        clock = broker.get_clock()
        found.append({"check": "market clock", "ok": True,
                      "detail": ("open" if clock.is_open else "closed")
                                + f" at {when(clock.timestamp)}; next open {when(clock.next_open)}, next close "
                                  f"{when(clock.next_close)}"
                                + ("" if clock.is_open else " (orders would wait for the open)")})
    except Exception as exc:
        found.append({"check": "market clock", "ok": False, "detail": f"unreadable: {exc}"})
    found.append(rate_budget(len(plan.orders)))
    reading = FileKillSwitch(args.state_dir / KILL_SWITCH_FILE).read()
    effect = {"active": "orders would be placed", "reducing": f"only the {len(plan.sells)} sell(s) would be placed",
              "halted": "nothing would be placed"}[reading.state]
    found.append({"check": "kill switch", "ok": reading.state == "active",
                  "detail": f"{reading.describe()}: {effect}"})
    return found


def open_orders(broker: Any, inputs: Any) -> list[dict[str, Any]]:
    """The account's open orders (ours and any placed elsewhere), each with what its unfilled rest may
    still spend or raise: the notional left, else the qty left at its limit price, else at the last
    price (the plan's reference price, or the broker's latest trade). An open order whose value is
    unknown counts as the whole buying power (fail closed).

    Subtracted from the buying power the broker reports even though Alpaca may already net its own
    figure: Alpaca's docs say open buys reduce the *available* buying power without saying which
    field shows it, and a dry run that understates what is left is the safe error."""
    orders = broker.list_open_orders()
    prices: dict[str, Decimal] = dict(inputs.prices)
    prices.update({s: h.price for s, h in inputs.holdings.items()})
    missing = sorted({o.symbol for o in orders if o.notional is None and o.limit_price is None} - set(prices))
    if missing:
        prices.update(broker.get_latest_prices(missing))
    found = []
    for o in orders:
        value = o.open_value(prices.get(o.symbol))
        found.append({"symbol": o.symbol, "side": o.side, "qty": o.qty, "notional": o.notional,
                      "limit_price": o.limit_price, "type": o.order_type, "status": o.status,
                      "client_order_id": o.client_order_id,
                      "open_value": value if value is not None else inputs.account.buying_power,
                      "value_known": value is not None})
    return found


def rate_budget(orders: int) -> dict[str, Any]:
    """The execution's request count at the least (reads, then a POST and a status read per order) against
    the per-minute budget its rate limiter keeps (shared/venues/alpaca/rate_limit.py); fill polls add to it."""
    from shared.venues.alpaca.rate_limit import ALPACA_REQUESTS_PER_MINUTE, DEFAULT_PER_MINUTE

    needed = 4 + 2 * orders  # account, positions, assets, clock; per order: POST, one status read
    ok = needed <= DEFAULT_PER_MINUTE
    return {"check": "rate-limit budget", "ok": ok,
            "detail": f"at least {needed} trading-API requests ({orders} order(s); polling fills adds more) "
                      f"against {DEFAULT_PER_MINUTE}/min kept by the limiter (Alpaca allows "
                      f"{ALPACA_REQUESTS_PER_MINUTE}/min)" + ("" if ok else ": the run would be slowed by the limiter")}


def _cents(value: Decimal) -> str:
    return f"{value.quantize(CENT):,}"
