"""`alchemiser signals`: evaluate the strategies and show the target weights with their explanation.

    alchemiser signals                                   the configured portfolio, offline data
    alchemiser signals --strategy my.clj --strategy b.clj   these files, equal allocation
    alchemiser signals --as-of 2026-11-25 --json         {"weights", "strategies", "as_of", ...}

The evaluation is the strategy function's own (services/strategy/app.py `evaluate_signals`): one
price history for every symbol, one indicator cache, netted by allocation. Its data day follows
the function's rule: the closes of the last session before the trading date of --as-of (default:
now, New York). On a weekend or holiday that is the most recent session, so a newcomer always
sees a result; on a trading day it is what that day's run trades on (the previous close).
Nothing is published and nothing is stored (except Alpaca bars cached under --state-dir).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alchemiser.commands.common import add_state_dir, as_of_arg, dumps, fail

if TYPE_CHECKING:
    from services.strategy.app import Signals
    from services.strategy.portfolio_config import StrategyPortfolio
    from services.strategy.settings import StrategySettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", action="append", type=Path, metavar="FILE", default=[],
                        help="a strategy file (.clj); repeat for several, held with equal allocation "
                             "(default: the strategies of the portfolio file)")
    parser.add_argument("--config", type=Path, metavar="TOML",
                        help="a portfolio file naming strategies and allocations "
                             "(default: services/strategy/strategies/portfolio.toml)")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME",
                        help="evaluate as the run at this moment would (default: now); "
                             "the data is the previous session's closes")
    parser.add_argument("--data", default="offline", metavar="offline|alpaca|DIR",
                        help="market data: generated offline history (default), Alpaca bars "
                             "(keys in APCA_API_KEY_ID / APCA_API_SECRET_KEY), or a directory of SYMBOL.csv files")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true",
                        help='print {"weights", "strategies", "as_of", ...} as JSON instead of the text report')


def _settings(args: argparse.Namespace) -> StrategySettings:
    from services.strategy.settings import StrategySettings

    values: dict[str, Any] = {"backend": "local", "state_dir": args.state_dir, "market_data": args.data,
                              "calendar": "exchange"}
    if args.as_of is not None:
        values["as_of"] = args.as_of
    if args.config is not None:
        values["strategy_config"] = args.config.resolve()
    key, secret = os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY")
    if key and secret:
        values["alpaca_api_key"], values["alpaca_secret_key"] = key, secret
    return StrategySettings.model_validate(values)


def files_portfolio(files: list[Path]) -> StrategyPortfolio:
    """The given strategy files, each with an equal share (parsed now: errors name file:line:col)."""
    from services.strategy.language import parse_file
    from services.strategy.portfolio_config import StrategyEntry, StrategyPortfolio
    from services.strategy.workflow import equal_allocations, unique_names

    paths = [f.resolve() for f in files]
    names = unique_names([p.stem for p in paths])
    entries = tuple(StrategyEntry(name, path, share, parse_file(path))
                    for name, path, share in zip(names, paths, equal_allocations(len(paths)), strict=True))
    return StrategyPortfolio(Path.cwd() / "(command line)", entries)


def run(args: argparse.Namespace) -> int:
    from services.strategy.app import evaluate_signals, failure_of
    from services.strategy.dependencies import make_calendar, portfolio_loader
    from services.strategy.workflow import trading_date
    from shared.broker.credentials import CredentialsError
    from shared.broker.factory import market_data_for
    from shared.marketdata.port import MarketDataError

    if args.strategy and args.config is not None:
        return fail("give either --strategy files or --config, not both")
    if args.data.strip().lower() == "alpaca" and not (os.environ.get("APCA_API_KEY_ID")
                                                      and os.environ.get("APCA_API_SECRET_KEY")):
        return fail("--data alpaca needs Alpaca keys in APCA_API_KEY_ID and APCA_API_SECRET_KEY")
    settings = _settings(args)
    try:
        market_data = market_data_for(settings)
        calendar = make_calendar(settings)
        now = args.as_of or datetime.now(UTC)
        day = trading_date(now)
        data_day = calendar.previous_session(day).date
    except (ValueError, CredentialsError) as exc:
        return fail(str(exc))
    try:
        portfolio = files_portfolio(args.strategy) if args.strategy else portfolio_loader(settings.strategy_config)()
        signals = evaluate_signals(portfolio, market_data, data_day, require_fresh=False)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None and not isinstance(exc, MarketDataError):
            raise
        print(failure.reason if failure is not None else f"market data: {exc}", file=sys.stderr)
        return 1
    stale = signals.data_as_of < data_day
    if stale:
        print(f"warning: the market data ends on {signals.data_as_of.isoformat()}, before "
              f"{data_day.isoformat()} (the session the run needs): the run would fail closed as stale; "
              "shown anyway, since nothing trades here", file=sys.stderr)
    equal = bool(args.strategy)
    if args.json:
        body = signals.as_dict()
        body.update(trading_date=day.isoformat(), data_day=data_day.isoformat(),
                    allocation="equal" if equal else str(signals.portfolio.source), stale=stale)
        print(dumps(body))
    else:
        sys.stdout.write(render(signals, trading_day=day, source=args.data, equal=equal))
    return 0


def _pct(value: Any) -> str:
    return f"{float(value) * 100:6.2f}%"


def render(signals: Signals, *, trading_day: Any, source: str, equal: bool) -> str:
    """The text report: where the numbers come from, the net weights, then each strategy's tree."""
    portfolio = signals.portfolio
    count = len(signals.outcomes)
    lines = [f"Signals on {source} data as of {signals.data_as_of.isoformat()} "
             f"(as the run of {trading_day:%A %Y-%m-%d} would trade)"]
    if equal:
        lines.append(f"Equal allocation across the {count} given strategy file{'s' if count != 1 else ''} "
                     "(no portfolio file)")
    else:
        lines.append(f"Portfolio: {portfolio.source} ({count} strateg{'ies' if count != 1 else 'y'})")
    lines += ["", "Net target weights:"]
    width = max(len(s) for s in signals.weights)
    for symbol, weight in sorted(signals.weights.items(), key=lambda kv: (-kv[1], kv[0])):
        by = ", ".join(f"{name} {_pct(w).strip()}" for name, w in signals.net.by_symbol(symbol).items())
        lines.append(f"  {symbol:<{width}} {_pct(weight)}   ({by})")
    for outcome in signals.outcomes:
        entry = outcome.entry
        held = ", ".join(f"{s} {_pct(w).strip()}" for s, w in
                         sorted(outcome.evaluation.weights.items(), key=lambda kv: (-kv[1], kv[0])))
        lines += ["", f"{entry.name} — allocation {_pct(entry.allocation).strip()} — {outcome.file}",
                  f"  holds: {held}", "  why:"]
        lines += [f"    {line}" for line in outcome.evaluation.render().splitlines()]
    return "\n".join(lines) + "\n"
