"""`alchemiser plan [--broker sim|alpaca] [--data offline|alpaca|DIR]`: today's run, dry. Nothing is placed.

What the day's run would do, computed by the chain's own steps and nothing else:
- the strategies: services/strategy/signals.py `evaluate_signals`, turned into the SignalGenerated the
  strategy function would publish (`signal_event`, with the limits it would resolve: the portfolio
  file's [limits], ALCHEMISER_<KEY>, then this command's limit flags), and checked as the portfolio checks it;
- the plan: the portfolio's step (services/portfolio/day.py `gather`, then `plan_day`: the position
  cap in clip mode, the planner, `check_plan`);
- the limits and the legs: the execution's step (services/execution/day.py `prepare`), at the prices
  the broker gave the plan: a limit that would refuse the plan is a failed check naming it.

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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from alchemiser.commands.common import (
    UsageError,
    add_limit_flags,
    add_state_dir,
    as_of_arg,
    data_arg,
    dumps,
    effective_limits,
    existing_file,
    fail,
    limits_file_problem,
)
from alchemiser.commands.tickers import add_invented_flag, invented_tickers, unknown_tickers

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
    add_invented_flag(parser)
    add_limit_flags(parser)


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
    from services.strategy.run_rules import data_session, freshness_check, run_correlation_id, trading_day_check
    from services.strategy.settings import StrategySettings
    from services.strategy.signals import evaluate_signals
    from shared.events.base import EventContext
    from shared.runtime.clock import trading_date
    from shared.venues.factory import market_data_for

    settings = StrategySettings.from_env({**_env(args, now), "ALCHEMISER_CALENDAR": "exchange"})
    calendar = make_calendar(settings)
    day = trading_date(now)
    data_day = data_session(calendar, now).date
    _, today = near_close(settings, calendar.session(day), now)
    market_data = market_data_for(settings)
    try:
        portfolio = _portfolio(args, settings)
        typo = unknown_tickers(portfolio, args.data)
        if typo:
            raise UsageError(typo)
        signals = evaluate_signals(portfolio, market_data, data_day, require_fresh=False,
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
    signal = signal_event(run, signals, settings.max_explanation_lines, effective_limits(args, portfolio.limits))
    found = [freshness_check(signals.data_as_of, data_day, synthetic=signals.synthetic)]
    if not found[0]["ok"]:
        from alchemiser.commands.data_end import as_of_hint

        found[0]["detail"] += f"; {as_of_hint(calendar, signals.data_as_of)}"
    session = calendar.session(day)
    if session is None:
        closed = trading_day_check(session, day, now)
        found.insert(0, {**closed, "detail": closed["detail"] + " (planned anyway)"})
    return signal, signals, found


def plan_for(signal: Any, args: argparse.Namespace, now: datetime) -> tuple[Any, Any, Any]:
    """(what the portfolio gathered, what it planned, the broker): the portfolio's step of the day."""
    from services.portfolio.app import parameters_of
    from services.portfolio.day import gather, plan_day
    from services.portfolio.settings import PortfolioSettings
    from services.portfolio.validation import Rejection, check_signal
    from shared.broker.positions_record import make_positions_record
    from shared.limits.model import Limits
    from shared.venues.factory import make_broker

    settings = PortfolioSettings.from_env(_env(args, now))
    rejection = check_signal(signal)
    if rejection is not None:
        raise PlanRefused("portfolio", rejection.reason, rejection.error_type)
    broker = make_broker(settings)
    limits = signal.limits or Limits()
    records = make_positions_record(local=settings.local, state_dir=settings.state_dir,
                                    table_name=settings.idempotency_table)
    gathered = gather(signal, broker, parameters_of(settings), limits, records=records, orders=broker)
    if isinstance(gathered, Rejection):
        raise PlanRefused("portfolio", gathered.reason, gathered.error_type)
    planned = plan_day(gathered.inputs, limits, gathered.owned)
    if isinstance(planned, Rejection):
        raise PlanRefused("portfolio", planned.reason, planned.error_type)
    return gathered, planned, broker


def execution_for(planned: Any) -> Any:
    """The execution's step on the plan, at the prices the broker gave it: legs, or the limits' refusal."""
    from services.execution.day import prepare

    inputs = planned.inputs
    prices = {**{s: h.price for s, h in inputs.holdings.items()}, **inputs.prices}
    positions = {s: h.market_value for s, h in inputs.holdings.items()}
    ids = [f"dry-run-{o.symbol}-{o.side}" for o in planned.plan.orders]
    return prepare(planned.plan.orders, ids=ids, prices=prices, positions=positions, equity=inputs.account.equity,
                   limits=inputs.limits)


def legs_rows(executed: Any) -> list[dict[str, Any]] | None:
    """What execution would send, in plan order (None: a limit would refuse the plan)."""
    from services.execution.day import LimitRefusal

    if isinstance(executed, LimitRefusal):
        return None
    return [{"side": leg.side, "symbol": leg.symbol, "qty": leg.qty, "notional": leg.notional}
            for leg in executed.legs]


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
    from alchemiser.commands.run_summary import side
    from alchemiser.console import Cell, Column, styled, table

    lines = [f"Dry run of {body['trading_date']} (nothing placed): data through {body['data_as_of']}, "
             f"equity ${body['equity']:,}, cash ${body['cash']:,}", ""]
    if body.get("synthetic"):
        from alchemiser.text import SYNTHETIC

        lines.insert(1, styled(SYNTHETIC, "yellow"))
    lines += ["Weights", *table([Column("Symbol", style="bold"), Column("Target", right=True),
                                 Column("Current", right=True)],
                                [[row["symbol"], f"{row['target'] * 100:.2f}%", f"{row['current'] * 100:.2f}%"]
                                 for row in body["weights"]])]
    lines += ["", f"Orders ({len(body['orders'])}):"]
    rows: list[list[str | Cell]] = [
        [side(o["side"]), o["symbol"], f"qty {o['qty']}" if o["qty"] is not None else f"${o['notional']:,}",
         f"~${o['estimated_value']:,}", o["reason"] + ("" if o["fractionable"] else "  [whole shares]")]
        for o in body["orders"]]
    if rows:
        lines += table([Column("Side"), Column("Symbol", style="bold"), Column("Size", right=True),
                        Column("Value", right=True), Column("Why")], rows)
    else:
        lines.append("  none")
    if body["skipped"]:
        lines += ["", f"Skipped ({len(body['skipped'])}):"]
        lines += table([Column("Side"), Column("Symbol", style="bold"), Column("Value", right=True), Column("Why")],
                       [[s["side"], s["symbol"], f"~${s['estimated_value']:,}", s["reason"]] for s in body["skipped"]])
    if body.get("scope"):
        lines += ["", "Not managed (left alone; set manage_whole_account = true to manage them):"
                  if body.get("not_managed") else "Managed:"]
        lines += [f"  {line}" for line in body["scope"]]
    lines += ["", "Pre-trade checks:"]
    lines += [f"  {styled('[ok]', 'green') if c['ok'] else styled('[!!]', 'bold red')} {c['check']}: {c['detail']}"
              for c in body["checks"]]
    lines += ["", body["summary"]]
    if body.get("legs") is None and body["orders"]:
        lines.append("The run would place nothing: a limit refuses this plan (the limits check above says which "
                     "and where to change it); a retry with the same limits would be refused the same way")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    with invented_tickers(args):
        return _plan(args)


def _plan(args: argparse.Namespace) -> int:
    from alchemiser.commands.plan_checks import checks, limits_check
    from services.portfolio.managed import describe
    from services.portfolio.managed import rows as scope_rows

    if "alpaca" in (args.broker, args.data) and not (os.environ.get("APCA_API_KEY_ID")
                                                     and os.environ.get("APCA_API_SECRET_KEY")):
        return fail("--broker alpaca / --data alpaca need Alpaca paper keys in APCA_API_KEY_ID and APCA_API_SECRET_KEY")
    if args.broker == "alpaca" and args.as_of is not None:
        return fail("--broker alpaca plans against the account as it is now; drop --as-of")
    from shared.broker.port import BrokerError, CredentialsError
    from shared.runtime.settings import SettingsError

    problem = limits_file_problem(args.config)
    if problem:
        return fail(problem)
    now = args.as_of or datetime.now(UTC)
    try:
        signal, signals, fresh = signal_for(args, now)
        _, planned, broker = plan_for(signal, args, now)
        executed = execution_for(planned)
        found = checks(args, planned.inputs, planned.plan, broker, fresh, limits_check(planned, executed))
        body = report(signal, planned.inputs, planned.plan, found)
        body["legs"] = legs_rows(executed)
        body.update(scope_rows(planned.scope))
        body["scope"] = describe(planned.scope)
        body["synthetic"] = bool(signals.synthetic)
    except PlanRefused as exc:
        from alchemiser.text import say

        say(f"the run would stop at the {exc.step} step ({exc.error_type}): {exc.reason}", err=True)
        return 1
    except UsageError as exc:
        return fail(str(exc))
    except (BrokerError, CredentialsError, SettingsError) as exc:
        return fail(str(exc), code=1)
    if args.json:
        print(dumps(body))
    else:
        from alchemiser.text import say

        say(render(body))
    return 0
