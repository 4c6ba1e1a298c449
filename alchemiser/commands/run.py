"""`alchemiser run`: trade a whole day locally, through the real handlers and the template's rules.

One run at a time per state directory (a lock); a rerun of a day resumes its unfinished workflow,
answers "nothing to do" for a completed one and, for one that ended failed or skipped, exits 1 with
the command that starts a new run (`--retry`). See alchemiser/local/day.py for the resume rule.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alchemiser.commands.common import (
    UsageError,
    add_limit_flags,
    add_state_dir,
    add_wait,
    as_of_arg,
    data_arg,
    dumps,
    existing_file,
    fail,
    locked,
)
from alchemiser.commands.tickers import add_invented_flag, invented_tickers, unknown_tickers
from alchemiser.text import SYNTHETIC, say, when


def exit_code(result: Any) -> int:
    """0: the day is done (completed, already completed, or no session that day: nothing to trade); 1: the day's
    workflow did not trade it (failed, skipped, unfinished), on the first run as on every rerun. The summary says
    why and how to retry."""
    if result.status in ("completed", "duplicate"):
        return 0
    no_workflow = result.status == "skipped" and result.retry_command is None
    return 0 if no_workflow else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME",
                        help="the moment the Scheduler fires: 2026-11-25T09:35:00-05:00, or a date for 09:35 New "
                             "York that day (default: the latest trading session at 09:35 ET)")
    add_state_dir(parser)
    parser.add_argument("--broker", choices=("sim", "alpaca"), default="sim",
                        help="the simulated broker (default) or Alpaca paper (needs APCA_API_KEY_ID/SECRET_KEY; "
                             "trades today only, during market hours)")
    parser.add_argument("--data", type=data_arg, default="offline", metavar="offline|alpaca|DIR",
                        help="market data: generated offline history (default), Alpaca bars, or a folder of "
                             "SYMBOL.csv files")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--config", type=existing_file, metavar="PORTFOLIO.toml",
                       help="the portfolio file: strategies and their allocations (default: the packaged "
                            "services/strategy/strategies/portfolio.toml)")
    which.add_argument("--strategy", action="append", type=existing_file, metavar="FILE.clj",
                       help="run this strategy file instead of the portfolio file; repeat for several, held with "
                            "equal allocation (as signals and backtest hold them)")
    parser.add_argument("--retry", action="store_true",
                        help="start a new, fully re-gated workflow for a day whose workflow ended failed or "
                             "skipped (its id: run-<date>-<mode>-retry-<n>)")
    parser.add_argument("--allow-synthetic-prices", action="store_true",
                        help="with --broker alpaca, allow --data other than alpaca (orders sized on prices "
                             "that are not the market's)")
    parser.add_argument("--allow-backdated", action="store_true",
                        help="trade a day earlier than the account's last activity (the simulated account "
                             "would go back in time)")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), type=str.upper,
                        help="the functions' log level, as the deployed stack's LogLevel parameter sets it "
                             "(default: the template's, INFO); their logs are in <state-dir>/logs/")
    add_wait(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    add_invented_flag(parser)
    add_limit_flags(parser)


def alpaca_keys_from_env() -> tuple[str, str] | None:
    key, secret = os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY")
    return (key, secret) if key and secret else None


def portfolio_after(options: Any, result: Any) -> dict[str, Any] | None:
    """Read the account after the day from the same broker the chain used, with the execution function's
    own settings (its endpoints, its keys, its state dir)."""
    from alchemiser.local.day import function_settings
    from shared.broker.port import BrokerError
    from shared.venues.factory import make_broker

    try:
        broker = make_broker(function_settings(options, result.as_of))
        account, positions = broker.get_account(), broker.get_positions()
    except (BrokerError, ValueError, OSError) as exc:
        say(f"(could not read the account after the day: {exc})", err=True)
        return None
    return {"equity": account.equity, "cash": account.cash,
            "positions": [{"symbol": p.symbol, "qty": p.qty, "market_value": p.market_value} for p in positions]}


def as_json(result: Any, after: dict[str, Any] | None, *, synthetic: bool = False) -> dict[str, Any]:
    from alchemiser.commands.run_summary import limit_bindings, retry_after_limits

    trade = result.last("TradeExecuted")
    split = result.placed_now_and_adopted
    raised = retry_after_limits(result)
    return {
        "status": result.status,
        "reason": result.reason,
        "synthetic": synthetic,
        "correlation_id": result.correlation_id,
        "as_of": result.as_of.isoformat(),
        "resumed": result.resumed,
        "retry_command": None if raised else result.retry_command,
        "retry_after_changing_limits": raised,
        "limit_bindings": limit_bindings(result),
        "events": result.detail_types,
        "redelivered": [e["detail-type"] for e in result.redelivered],
        "orders_at_broker": result.orders_at_broker,
        "orders_placed_now": split[0] if split else 0,
        "orders_adopted": split[1] if split else 0,
        "orders": trade["orders"] if trade else [],
        "duplicates_suppressed": result.duplicates_suppressed,
        "dead_lettered": result.dead_lettered,
        "deliveries": len(result.hops),
        "target_weights": (result.last("SignalGenerated") or {}).get("target_weights", {}),
        "portfolio_after": after,
    }


def strategies_config(state_dir: Path, strategies: list[Path]) -> Path:
    """The portfolio file for `--strategy FILE ...` (equal allocations, as `signals` and `backtest` hold them),
    kept in the state dir: a resumed run's strategy step reads it again."""
    import hashlib

    from services.strategy.run_rules import equal_allocations, unique_names

    folder = state_dir / "portfolios"
    folder.mkdir(parents=True, exist_ok=True)
    names = unique_names([s.stem.replace("_", "-") for s in strategies])
    key = hashlib.sha256("\n".join(s.as_posix() for s in strategies).encode()).hexdigest()[:8]
    path = folder / (f"{names[0]}.toml" if len(names) == 1 else f"command-line-{key}.toml")
    flags = " ".join(f"--strategy {s}" for s in strategies)
    text = f"# written by `alchemiser run {flags}`\n"
    for name, strategy, share in zip(names, strategies, equal_allocations(len(strategies)), strict=True):
        text += f'\n[[strategy]]\nname = "{name}"\nfile = "{strategy.as_posix()}"\nallocation = "{share}"\n'
    path.write_text(text, encoding="utf-8")
    return path


def checked_limit_env(args: argparse.Namespace, config: Path | None) -> dict[str, str]:
    """The limits the day's functions see (ALCHEMISER_<KEY> from your environment and the limit flags: the
    template's empty defaults would hide your environment's), checked first: a bad value is exit 2 naming it."""
    from alchemiser.commands.common import effective_limits, limit_env
    from services.strategy.settings import PACKAGED_CONFIG
    from shared.limits.loader import LimitsError, read_file

    try:
        effective_limits(args, read_file(config or PACKAGED_CONFIG))
    except LimitsError as exc:
        raise UsageError(str(exc)) from exc
    return limit_env(args)


def _check_combination(args: argparse.Namespace) -> str | None:
    from shared.runtime.clock import NEW_YORK, trading_date  # lazy: `run --help` imports no shared module

    if args.broker == "alpaca" and args.data != "alpaca" and not args.allow_synthetic_prices:
        return (f"--broker alpaca with --data {args.data} would size real paper orders on prices that are not the "
                "market's; use --data alpaca (or pass --allow-synthetic-prices if that is what you want)")
    if args.broker == "alpaca" and args.as_of is not None:
        today = datetime.now(NEW_YORK).date()
        if trading_date(args.as_of) != today:
            return "--broker alpaca trades today only (Alpaca fills at the market's current prices); drop --as-of"
    return None


def _preflight(args: argparse.Namespace, config: Path | None, as_of: datetime) -> str | None:
    """What would make the day fail for certain, before it starts: a ticker the offline market does not know, a
    folder of CSV files that ends before the closes the run needs. (A portfolio that does not load is the
    strategy step's to report, as in AWS.)"""
    from alchemiser.commands.data_end import as_of_hint, data_ends, is_folder
    from services.strategy.language import StrategyError
    from services.strategy.portfolio_config import PortfolioConfigError, load_portfolio
    from services.strategy.settings import PACKAGED_CONFIG

    try:
        portfolio = load_portfolio(config or PACKAGED_CONFIG)
    except (StrategyError, PortfolioConfigError, OSError):
        return None
    typo = unknown_tickers(portfolio, args.data)
    if typo or not is_folder(args.data):
        return typo
    from services.strategy.run_rules import data_day
    from shared.marketdata.calendar import ExchangeCalendar
    from shared.runtime.clock import trading_date
    from shared.venues.factory import make_market_data

    calendar = ExchangeCalendar()
    needed = data_day(calendar, as_of)
    ends = data_ends(make_market_data(args.data, state_dir=args.state_dir), portfolio.symbols, before=needed)
    if ends is None or ends >= needed:
        return None
    return (f"{as_of_hint(calendar, ends)}. The run of {trading_date(as_of).isoformat()} needs the closes of "
            f"{needed.isoformat()} and would fail closed as stale; nothing was started")


def _backdated(args: argparse.Namespace, as_of: datetime) -> str | None:
    """Refuse a day earlier than the simulated account's last order, unless allowed."""
    from shared.runtime.clock import NEW_YORK, trading_date

    if args.broker != "sim" or args.allow_backdated:
        return None
    from alchemiser.local.day import sim_orders

    orders = sim_orders(args.state_dir, as_of) or []
    times = [o.submitted_at for o in orders if o.submitted_at is not None]
    if not times:
        return None
    last = max(times).astimezone(NEW_YORK)
    if trading_date(as_of) >= last.date():
        return None
    return (f"the simulated account in {args.state_dir} last traded on {last.date().isoformat()}; "
            f"--as-of {trading_date(as_of).isoformat()} would trade it backwards in time. "
            f"Start a fresh state dir: alchemiser run --as-of {trading_date(as_of).isoformat()} "
            f"--state-dir .alchemiser-{trading_date(as_of).isoformat()} "
            "(or pass --allow-backdated)")


def run(args: argparse.Namespace) -> int:
    keys = alpaca_keys_from_env()
    if "alpaca" in (args.broker, args.data) and keys is None:
        return fail("--broker alpaca / --data alpaca need Alpaca paper keys in APCA_API_KEY_ID and APCA_API_SECRET_KEY")
    problem = _check_combination(args)
    if problem:
        return fail(problem)
    with invented_tickers(args):
        return locked(args.state_dir, lambda: _run_locked(args, keys), wait=args.wait,
                      hint="; try again when it ends (or --wait SECONDS)")


def _run_locked(args: argparse.Namespace, keys: tuple[str, str] | None) -> int:
    from alchemiser.commands.run_summary import hop_line, render
    from alchemiser.local.day import DayOptions, default_as_of, schedule_time, strategy_schedule
    from alchemiser.local.day import run_day as run_the_day
    from alchemiser.local.storage import display_path
    from alchemiser.local.template import load_template

    template = load_template(parameters={"LogLevel": args.log_level} if args.log_level else None)
    as_of = args.as_of or default_as_of(datetime.now(ZoneInfo("UTC")), schedule_time(strategy_schedule(template)))
    problem = _backdated(args, as_of)
    if problem:
        return fail(problem)
    config = args.config
    if args.strategy:
        config = strategies_config(args.state_dir, args.strategy)
    try:
        extra_env = checked_limit_env(args, config)
    except UsageError as exc:
        return fail(str(exc))
    problem = _preflight(args, config, as_of)
    if problem:
        return fail(problem)
    options = DayOptions(args.state_dir, as_of, args.broker, args.data, keys, retry=args.retry,
                         strategy_config=config, extra_env=extra_env)
    if not args.json:
        data = display_path(Path(args.data)) if args.data not in ("offline", "alpaca") else args.data
        where = f"{'Alpaca paper' if args.broker == 'alpaca' else 'simulated broker'}, {data} data"
        print(f"The Alchemiser: a local trading day ({where}; state in {display_path(args.state_dir)})", flush=True)
        if args.data == "offline":
            from alchemiser.console import styled

            print(styled(SYNTHETIC, "yellow"), flush=True)

    def progress(hop: Any) -> None:
        say(hop_line(hop), flush=True)

    result = run_the_day(options, on_hop=None if args.json else progress, template=template)
    if not args.json:
        say(f"  (as of {when(result.as_of)})")
    after = portfolio_after(options, result) if result.status not in ("skipped", "ended") else None
    if args.json:
        print(dumps(as_json(result, after, synthetic=args.data == "offline")))
    else:
        say(render(result, after))
    return exit_code(result)
