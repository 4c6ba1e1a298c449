"""`alchemiser plan [--broker sim|alpaca] [--data offline|alpaca|DIR]`: today's run, dry. Nothing is placed.

What the day's run would do, computed by the chain's own code and nothing else:
- the strategies: services/strategy/signals.py `evaluate_signals`, turned into the SignalGenerated the
  strategy function would publish (`signal_event`), and checked as the portfolio checks it;
- the plan: the portfolio function's own gathering (account, positions, assets, prices, with its
  fail-closed checks: services/portfolio/app.py) and planner (services/portfolio/planner.py `plan`,
  then `check_plan`).

It prints the target against the current weight of each symbol, the orders with their sizes, what
was skipped and why, and the pre-trade checks: buying power net of the account's open buy orders
(each listed, valued at its notional left, else its qty left at the limit or the last price)
against the planned buys, each order's fractionable flag, the data's freshness against the calendar
(the last bar must be the previous session's close), the market clock, the rate-limit budget (the
fewest requests the execution makes against its limiter's per-minute budget), and the kill switch
(the local file `<state-dir>/kill-switch`: reducing drops the buys, halted places nothing).
Nothing is published, recorded or placed; the only writes are Alpaca bars cached under --state-dir
(and, on a fresh state dir, the simulated broker's empty database file).

With `--broker alpaca` (keys in APCA_API_KEY_ID / APCA_API_SECRET_KEY, paper) it reads the real
paper account now; the default is the simulated account in the state dir, at --as-of.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from alchemiser.commands.common import add_state_dir, as_of_arg, data_arg, dumps, existing_file, fail

WEIGHT = Decimal("0.0001")
CENT = Decimal("0.01")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", choices=("sim", "alpaca"), default="sim",
                        help="the simulated account in the state dir (default) or Alpaca paper (APCA_API_KEY_ID / "
                             "APCA_API_SECRET_KEY): read only, nothing is placed")
    parser.add_argument("--data", type=data_arg, default="offline", metavar="offline|alpaca|DIR",
                        help="market data for the strategies: generated offline history (default), Alpaca bars, or "
                             "a folder of SYMBOL.csv files")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME",
                        help="plan as the run at this moment would (default: now; --broker alpaca: now only)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--config", type=existing_file, metavar="PORTFOLIO.toml",
                       help="the portfolio file (default: services/strategy/strategies/portfolio.toml)")
    which.add_argument("--strategy", type=existing_file, metavar="FILE.clj", help="plan this one strategy file alone")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")


class PlanRefused(Exception):
    """The run would stop here (fail closed); the message says why."""

    def __init__(self, step: str, reason: str, error_type: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step, self.reason, self.error_type = step, reason, error_type


def _env(args: argparse.Namespace, now: datetime) -> dict[str, str]:
    env = {"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(args.state_dir),
           "ALCHEMISER_BROKER": args.broker, "ALCHEMISER_MARKET_DATA": args.data,
           "ALCHEMISER_AS_OF": now.isoformat()}
    key, secret = os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY")
    if key and secret:
        env["ALCHEMISER_ALPACA_API_KEY"], env["ALCHEMISER_ALPACA_SECRET_KEY"] = key, secret
    for name in ("ALCHEMISER_ALPACA_TRADING_URL", "ALCHEMISER_ALPACA_DATA_URL", "ALCHEMISER_SIM_NON_FRACTIONABLE"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if args.config is not None:
        env["ALCHEMISER_STRATEGY_CONFIG"] = str(args.config)
    return env


def _portfolio(args: argparse.Namespace, settings: Any) -> Any:
    from services.strategy.portfolio_config import load_portfolio

    if args.strategy is not None:
        from alchemiser.commands.signals import files_portfolio

        return files_portfolio([args.strategy])
    return load_portfolio(settings.strategy_config)


def signal_for(args: argparse.Namespace, now: datetime) -> tuple[Any, Any, list[dict[str, Any]]]:
    """(the SignalGenerated today's run would publish, the Signals, the calendar's checks)."""
    from services.strategy.app import near_close
    from services.strategy.dependencies import make_calendar
    from services.strategy.events import Run, signal_event
    from services.strategy.failures import failure_of
    from services.strategy.settings import StrategySettings
    from services.strategy.signals import evaluate_signals
    from services.strategy.workflow import closed_reason, data_session, run_correlation_id
    from shared.broker.factory import market_data_for
    from shared.events.base import EventContext
    from shared.runtime.clock import trading_date

    settings = StrategySettings.from_env({**_env(args, now), "ALCHEMISER_CALENDAR": "exchange"})
    calendar = make_calendar(settings)
    day = trading_date(now)
    data_day = data_session(calendar, now).date
    _, today = near_close(settings, calendar.session(day), now)
    market_data = market_data_for(settings)
    try:
        signals = evaluate_signals(_portfolio(args, settings), market_data, data_day, require_fresh=False,
                                   today=today, latest_at=now)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        raise PlanRefused("strategy", failure.reason, failure.error_type) from exc
    correlation_id = f"plan-{run_correlation_id(day, settings.trading_mode)}"
    run = Run(correlation_id, EventContext.for_command(correlation_id, f"dry-run-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                                                       settings.trading_mode),
              "manual", day, data_day, now, None, today)
    signal = signal_event(run, signals, settings.max_explanation_lines)
    fresh: dict[str, Any] = {"check": "data freshness", "ok": signals.data_as_of >= data_day,
                             "detail": f"last bar {signals.data_as_of.isoformat()}, the run needs "
                                       f"{data_day.isoformat()} "
                                       f"(the session before {day.isoformat()} per the exchange calendar)"
                                       + ("; SYNTHETIC offline prices" if signals.synthetic else "")}
    if not fresh["ok"]:
        fresh["detail"] += ": the run would fail closed as stale"
    found = [fresh]
    if calendar.session(day) is None:
        found.insert(0, {"check": "trading day", "ok": False,
                         "detail": f"{closed_reason(day)}: the scheduled run would start no workflow (planned anyway)"})
    return signal, signals, found


def plan_for(signal: Any, args: argparse.Namespace, now: datetime) -> tuple[Any, Any, Any, list[Any], Any]:
    """(plan inputs, plan, account, positions, broker): the portfolio function's gathering and planner."""
    from services.portfolio.app import _gather
    from services.portfolio.planner import plan as make_plan
    from services.portfolio.settings import PortfolioSettings
    from services.portfolio.validation import Rejection, check_plan, check_signal
    from shared.broker.factory import make_broker

    settings = PortfolioSettings.from_env(_env(args, now))
    rejection = check_signal(signal)
    if rejection is not None:
        raise PlanRefused("portfolio", rejection.reason, rejection.error_type)
    broker = make_broker(settings)
    gathered = _gather(signal, cast(Any, SimpleNamespace(settings=settings, broker=broker)))
    if isinstance(gathered, Rejection):
        raise PlanRefused("portfolio", gathered.reason, gathered.error_type)
    inputs, account, positions = gathered
    plan = make_plan(inputs)
    rejection = check_plan(plan, inputs)
    if rejection is not None:
        raise PlanRefused("portfolio", rejection.reason, rejection.error_type)
    return inputs, plan, account, positions, broker


def checks(args: argparse.Namespace, inputs: Any, plan: Any, broker: Any,
           calendar_checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from services.execution.kill_switch import FileKillSwitch
    from services.execution.settings import KILL_SWITCH_FILE

    found = list(calendar_checks)
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
                                + f" at {clock.timestamp.astimezone(UTC):%Y-%m-%d %H:%MZ}; next open "
                                  f"{clock.next_open.astimezone(UTC):%Y-%m-%d %H:%MZ}, next close "
                                  f"{clock.next_close.astimezone(UTC):%Y-%m-%d %H:%MZ}"
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
    the per-minute budget its rate limiter keeps (shared/broker/rate_limit.py); fill polls add to it."""
    from shared.broker.rate_limit import ALPACA_REQUESTS_PER_MINUTE, DEFAULT_PER_MINUTE

    needed = 4 + 2 * orders  # account, positions, assets, clock; per order: POST, one status read
    ok = needed <= DEFAULT_PER_MINUTE
    return {"check": "rate-limit budget", "ok": ok,
            "detail": f"at least {needed} trading-API requests ({orders} order(s); polling fills adds more) "
                      f"against {DEFAULT_PER_MINUTE}/min kept by the limiter (Alpaca allows "
                      f"{ALPACA_REQUESTS_PER_MINUTE}/min)" + ("" if ok else ": the run would be slowed by the limiter")}


def _cents(value: Decimal) -> str:
    return f"{value.quantize(CENT):,}"


def _weight(value: Decimal) -> Decimal:
    return value.quantize(WEIGHT)


def report(signal: Any, inputs: Any, plan: Any, found: list[dict[str, Any]]) -> dict[str, Any]:
    equity = inputs.account.equity
    symbols = sorted(set(signal.target_weights) | set(inputs.holdings))
    rows = []
    for symbol in symbols:
        held = inputs.holdings.get(symbol)
        current = held.market_value / equity if held is not None and equity else Decimal(0)
        rows.append({"symbol": symbol, "target": _weight(signal.target_weights.get(symbol, Decimal(0))),
                     "current": _weight(current), "held_qty": held.qty if held is not None else Decimal(0)})
    return {
        "placed": 0,
        "correlation_id": signal.correlation_id,
        "trading_date": signal.trading_date,
        "data_as_of": signal.data_as_of,
        "equity": equity, "cash": inputs.account.cash, "buying_power": inputs.account.buying_power,
        "weights": rows,
        "orders": [{"side": o.side, "symbol": o.symbol, "qty": o.qty, "notional": o.notional,
                    "estimated_value": o.estimated_value, "reference_price": o.reference_price,
                    "fractionable": o.fractionable, "full_exit": o.full_exit, "reason": o.reason}
                   for o in (*plan.sells, *plan.buys)],
        "skipped": [{"side": s.side, "symbol": s.symbol, "estimated_value": s.estimated_value, "reason": s.reason}
                    for s in plan.skipped],
        "summary": plan.summary,
        "checks": found,
    }


def render(body: dict[str, Any]) -> str:
    lines = [f"Dry run of {body['trading_date']} (nothing placed): data through {body['data_as_of']}, "
             f"equity ${body['equity']:,}, cash ${body['cash']:,}", "", "Weights        target   current"]
    for row in body["weights"]:
        lines.append(f"  {row['symbol']:<10} {row['target'] * 100:7.2f}%  {row['current'] * 100:7.2f}%")
    lines += ["", f"Orders ({len(body['orders'])}):"]
    for o in body["orders"]:
        size = f"qty {o['qty']}" if o["qty"] is not None else f"${o['notional']:,}"
        lines.append(f"  {o['side'].upper():<4} {o['symbol']:<6} {size:<20} ~${o['estimated_value']:,}"
                     f"  {o['reason']}" + ("" if o["fractionable"] else "  [whole shares]"))
    if not body["orders"]:
        lines.append("  none")
    if body["skipped"]:
        lines += ["", f"Skipped ({len(body['skipped'])}):"]
        lines += [f"  {s['side']} {s['symbol']} ~${s['estimated_value']:,}: {s['reason']}" for s in body["skipped"]]
    lines += ["", "Pre-trade checks:"]
    lines += [f"  [{'ok' if c['ok'] else '!!'}] {c['check']}: {c['detail']}" for c in body["checks"]]
    lines += ["", body["summary"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if "alpaca" in (args.broker, args.data) and not (os.environ.get("APCA_API_KEY_ID")
                                                     and os.environ.get("APCA_API_SECRET_KEY")):
        return fail("--broker alpaca / --data alpaca need Alpaca paper keys in APCA_API_KEY_ID and APCA_API_SECRET_KEY")
    if args.broker == "alpaca" and args.as_of is not None:
        return fail("--broker alpaca plans against the account as it is now; drop --as-of")
    from shared.broker.credentials import CredentialsError
    from shared.broker.port import BrokerError
    from shared.runtime.settings import SettingsError

    now = args.as_of or datetime.now(UTC)
    try:
        signal, _, fresh = signal_for(args, now)
        inputs, plan, _, _, broker = plan_for(signal, args, now)
        body = report(signal, inputs, plan, checks(args, inputs, plan, broker, fresh))
    except PlanRefused as exc:
        print(f"the run would stop at the {exc.step} step ({exc.error_type}): {exc.reason}", file=sys.stderr)
        return 1
    except (BrokerError, CredentialsError, SettingsError) as exc:
        return fail(str(exc), code=1)
    print(dumps(body) if args.json else render(body))
    return 0
