"""`alchemiser backtest`: how the strategies would have traded, day by day, on the chain's own code.

    alchemiser backtest                                   the shipped portfolio, last 5 years, offline data
    alchemiser backtest --strategy my.clj --from 2020-01-01 --to 2024-12-31
    alchemiser backtest --json > bt.json                  metrics, benchmark, strategies, equity, allocations, orders
    alchemiser backtest --html tearsheet.html --png equity.png

Each session runs as the chain runs it (alchemiser/backtest/engine.py): the strategy function's
evaluation on the previous session's closes, netting, the portfolio's and the execution's steps
against the simulated account with your limits (the portfolio file's [limits], ALCHEMISER_<KEY>, the
limit flags), sells before buys, fills at the session's open when the data has opens, else its close,
with the slippage and fee model. Sessions a limit blocked are counted in the headline and listed.
Progress goes to stderr; the summary (or the JSON) to stdout.
Usage errors (bad dates, an unknown ticker, not enough history...) exit with code 2.
The JSON schema and what a backtest cannot apply: docs/backtest.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alchemiser.commands.common import UsageError, add_limit_flags, add_state_dir, dumps, effective_limits, fail
from alchemiser.commands.tickers import add_invented_flag, invented_tickers, unknown_tickers

if TYPE_CHECKING:
    from alchemiser.backtest.engine import BacktestConfig
    from services.strategy.portfolio_config import StrategyPortfolio

DEFAULT_YEARS = 5
NEAR_CLOSE_MINUTES = 10
SIM_SLIPPAGE_BPS = Decimal("5")
"""The simulated broker's default slippage (shared/venues/settings.py `sim_slippage_bps`); a test keeps them equal."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD, e.g. 2021-01-04)") from exc


def _decimal(minimum: Decimal, what: str) -> Any:
    def parse(text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number ({what})") from exc
        if not value.is_finite() or value < minimum:
            raise argparse.ArgumentTypeError(f"'{text}' must be a number of at least {minimum} ({what})")
        return value

    return parse


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number (an annual rate, e.g. 0.04)") from exc
    if not -1 < value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be an annual rate as a fraction, e.g. 0.04 for 4%")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", action="append", type=Path, metavar="FILE", default=[],
                        help="a strategy file (.clj); repeat for several, held with equal allocation "
                             "(default: the strategies of the portfolio file)")
    parser.add_argument("--config", type=Path, metavar="TOML",
                        help="a portfolio file (default: services/strategy/strategies/portfolio.toml)")
    parser.add_argument("--from", dest="start", type=_date, metavar="DATE",
                        help=f"first trading day (default: {DEFAULT_YEARS} years before --to)")
    parser.add_argument("--to", dest="end", type=_date, metavar="DATE",
                        help="last trading day (default: the last session closed now)")
    parser.add_argument("--data", default="offline", metavar="offline|DIR|alpaca",
                        help="market data: generated offline history (default), a directory of SYMBOL.csv "
                             "files, or Alpaca bars (keys in APCA_API_KEY_ID / APCA_API_SECRET_KEY)")
    parser.add_argument("--capital", type=_decimal(Decimal(1), "dollars"), default=Decimal("100000"),
                        metavar="DOLLARS", help="starting cash (default 100000)")
    parser.add_argument("--benchmark", default="SPY", metavar="SYMBOL",
                        help="compare with buying and holding this symbol (default SPY; 'none' for no benchmark)")
    parser.add_argument("--slippage-bps", type=_decimal(Decimal(0), "basis points"), default=SIM_SLIPPAGE_BPS,
                        metavar="N", help="each fill moved against the trader by N basis points (default "
                                          f"{SIM_SLIPPAGE_BPS}, the simulated paper broker's, so a backtest fills as "
                                          "`alchemiser run` days do)")
    parser.add_argument("--fee-per-share", type=_decimal(Decimal(0), "dollars per share"), default=Decimal("0"),
                        metavar="X", help="commission per share filled (default 0, as at Alpaca)")
    parser.add_argument("--risk-free", type=_rate, default=0.0, metavar="RATE",
                        help="annual risk-free rate for Sharpe and Sortino (default 0)")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE",
                        help="print one JSON object (schema: docs/backtest.md); with FILE, write it there "
                             "(and print the summary)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML tearsheet")
    parser.add_argument("--png", type=Path, metavar="FILE", help="write the equity and drawdown chart as a PNG")
    parser.add_argument("--log-scale", action="store_true", help="the tearsheet's equity chart on a log scale")
    parser.add_argument("--compare-account", action="store_true",
                        help="overlay the paper account's recorded equity (from --state-dir) on the same days")
    parser.add_argument("--timing", choices=("previous-close", "near-close"), default="previous-close",
                        help="when each day's run decides: previous-close (default: 09:35 on the previous "
                             "session's closes, the strategy function's default) or near-close (Composer's: "
                             "--near-close-minutes before the close, today's latest trades as today's bar)")
    parser.add_argument("--near-close-minutes", type=int, choices=range(1, 121), metavar="N",
                        help=f"with --timing near-close: minutes before the close the run decides (default "
                             f"{NEAR_CLOSE_MINUTES})")
    parser.add_argument("--no-attribution", action="store_true",
                        help="skip the per-strategy runs (each strategy alone with its allocation)")
    add_state_dir(parser)
    add_invented_flag(parser)
    add_limit_flags(parser)


def portfolio_of(args: argparse.Namespace) -> StrategyPortfolio:
    from alchemiser.commands.signals import files_portfolio
    from services.strategy.dependencies import portfolio_loader

    if args.strategy:
        return files_portfolio(args.strategy)
    path = args.config.resolve() if args.config is not None else None
    if path is None:
        from services.strategy.settings import StrategySettings

        path = StrategySettings.model_validate({"backend": "local"}).strategy_config
    return portfolio_loader(path)()


def market_data_of(args: argparse.Namespace) -> Any:
    """The market data the functions would read: built from the one settings object (its Alpaca keys, feed and
    ALCHEMISER_ALPACA_DATA_URL), by the same factory."""
    from shared.venues.factory import local_settings, market_data_for
    from shared.venues.settings import BrokerSettings

    if args.data.strip().lower() == "alpaca" and not (os.environ.get("APCA_API_KEY_ID")
                                                      and os.environ.get("APCA_API_SECRET_KEY")):
        raise ValueError("--data alpaca needs Alpaca keys in APCA_API_KEY_ID and APCA_API_SECRET_KEY")
    return market_data_for(local_settings(BrokerSettings, os.environ, ALCHEMISER_STATE_DIR=str(args.state_dir),
                                          ALCHEMISER_MARKET_DATA=args.data))


def default_range(calendar: Any, now: datetime, start: date | None, end: date | None) -> tuple[date, date]:
    """--to: the last session closed at `now`; --from: DEFAULT_YEARS years before it."""
    if end is None:
        latest = calendar.latest_session(now)
        end = latest.date if latest.close <= now else calendar.previous_session(latest.date).date
    if start is None:
        try:
            start = end.replace(year=end.year - DEFAULT_YEARS) + timedelta(days=1)
        except ValueError:  # 29 February
            start = end.replace(year=end.year - DEFAULT_YEARS, day=28) + timedelta(days=1)
    return start, end


def config_of(args: argparse.Namespace, now: datetime) -> tuple[BacktestConfig, date | None]:
    """The backtest's configuration, and the day the data ends on when that ended the range (no --to)."""
    from alchemiser.backtest.engine import BacktestConfig, BacktestError
    from alchemiser.backtest.fills import FillModel
    from services.strategy.language import StrategyError
    from services.strategy.portfolio_config import PortfolioConfigError
    from shared.marketdata.calendar import ExchangeCalendar

    if args.strategy and args.config is not None:
        raise BacktestError("give either --strategy files or --config, not both")
    if args.near_close_minutes is not None and args.timing != "near-close":
        raise BacktestError("--near-close-minutes needs --timing near-close (the default timing decides at 09:35 "
                            "on the previous session's closes)")
    try:
        portfolio = portfolio_of(args)
    except (StrategyError, PortfolioConfigError) as exc:
        raise BacktestError(str(exc)) from exc
    except FileNotFoundError as exc:
        raise BacktestError(f"{exc.filename}: no such file") from exc
    typo = unknown_tickers(portfolio, args.data)
    if typo:
        raise BacktestError(typo)
    try:
        market_data = market_data_of(args)
    except ValueError as exc:
        raise BacktestError(str(exc)) from exc
    calendar = ExchangeCalendar()
    try:
        start, end = default_range(calendar, now, args.start, args.end)
    except ValueError as exc:
        raise BacktestError(str(exc)) from exc
    ends = _data_ends(args, market_data, portfolio, end)
    if ends is not None:
        start, end = default_range(calendar, now, args.start, ends)
    benchmark = None if args.benchmark.strip().lower() in ("", "none") else args.benchmark.strip().upper()
    try:
        limits = effective_limits(args, portfolio.limits)
    except UsageError as exc:
        raise BacktestError(str(exc)) from exc
    return BacktestConfig(portfolio, market_data, calendar, start, end, capital=args.capital, limits=limits,
                          fills=FillModel(args.slippage_bps, args.fee_per_share), benchmark=benchmark,
                          attribution=not args.no_attribution, timing=args.timing,
                          near_close_minutes=args.near_close_minutes or NEAR_CLOSE_MINUTES), ends


def _data_ends(args: argparse.Namespace, market_data: Any, portfolio: Any, end: date) -> date | None:
    """Without --to, a folder of CSV files that ends before `end` ends the backtest (the day it ends on)."""
    from alchemiser.commands.data_end import data_ends, is_folder

    if args.end is not None or not is_folder(args.data):
        return None
    ends = data_ends(market_data, portfolio.symbols, before=end)
    return ends if ends is not None and ends < end else None


def account_equity(state_dir: Path, start: date, end: date) -> list[tuple[date, Decimal]]:
    """The paper account's equity recorded at each completed local day (what `alchemiser pnl` reads)."""
    from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore

    database = state_dir / "state.sqlite"
    if not database.exists():
        return []
    latest: dict[date, Decimal] = {}
    for snapshot in EmbeddedWorkflowStore(database).snapshots("paper", start, end):  # sorted: the last one wins
        latest[snapshot.trading_date] = snapshot.equity_after
    return sorted(latest.items())


def json_file(args: argparse.Namespace) -> Path | None:
    """`--json FILE`: the file; `--json` alone (stdout) or no --json: None."""
    return None if args.json in (None, "-") else Path(args.json)


def check_outputs_of(args: argparse.Namespace) -> None:
    """Every file the backtest will write, and the libraries that draw them, before it starts (UsageError)."""
    from alchemiser.commands.outputs import check_outputs

    check_outputs([("--html", args.html), ("--png", args.png), ("--json", json_file(args))],
                  [(flag, module) for flag, module, given in (("--html", "plotly", args.html),
                                                              ("--png", "matplotlib", args.png)) if given])


def run(args: argparse.Namespace, *, now: datetime | None = None) -> int:
    with invented_tickers(args):
        return _backtest(args, now)


def _backtest(args: argparse.Namespace, now: datetime | None) -> int:
    from alchemiser.backtest.engine import BacktestError, run_backtest
    from alchemiser.backtest.report import to_json
    from alchemiser.backtest.summary import render_text
    from alchemiser.console import Progress

    moment = now or datetime.now(UTC)
    try:
        check_outputs_of(args)
        config, data_ended = config_of(args, moment)
        from alchemiser.backtest.engine import sessions_of

        sessions = len(sessions_of(config))
        steps = sessions * (2 + (0 if args.no_attribution else len(config.portfolio.strategies)))
        progress = Progress(steps)
        result = run_backtest(config, progress)
        progress.finish()
    except (BacktestError, UsageError) as exc:
        return fail(str(exc))
    doc = to_json(result, args.risk_free)
    if data_ended is not None:
        doc["range"]["data_ends"] = data_ended.isoformat()  # the summary says why the range ends there
    if args.compare_account:
        recorded = account_equity(args.state_dir, result.sessions[0], result.sessions[-1])
        doc["account_equity"] = [{"trade_date": d.isoformat(), "equity": str(e)} for d, e in recorded]
        if not recorded:
            print(f"note: no recorded paper equity in {args.state_dir} between {result.sessions[0]} and "
                  f"{result.sessions[-1]} (run `alchemiser run` days first)", file=sys.stderr)
    name = "the given strategies" if args.strategy else str(config.portfolio.source.name)
    problem = write_outputs(args, doc, result, name)
    if args.json == "-":
        print(dumps(doc))
    else:
        from alchemiser.text import readable

        sys.stdout.write(readable(render_text(doc, name)))
    return fail(problem, code=1) if problem else 0


def write_outputs(args: argparse.Namespace, doc: dict[str, Any], result: Any, name: str) -> str | None:
    """The tearsheet, the chart and the JSON file, all or none (outputs.Outputs); why not, or None."""
    from alchemiser.commands.outputs import Outputs

    outputs, target = Outputs(), json_file(args)
    title = f"Backtest — {name}"
    blocked = [(b.trade_date, b.message) for b in result.blocked]  # shaded on every chart, counted in the header
    try:
        if args.html is not None or args.png is not None:
            from alchemiser.backtest import tearsheet

            if args.html is not None:
                outputs.add(args.html, lambda path: tearsheet.write_html(doc, path, title=title,
                                                                         log_scale=args.log_scale, blocked=blocked))
            if args.png is not None:
                outputs.add(args.png, lambda path: tearsheet.write_png(doc, path, title=title,
                                                                       log_scale=args.log_scale, blocked=blocked))
        if target is not None:
            outputs.add_text(target, dumps(doc) + "\n")
        written = outputs.commit()
    except (OSError, ImportError) as exc:
        named = ", ".join(str(p) for p in (args.html, args.png, target) if p is not None)
        return f"could not write {named} (none was written; the results are above): {exc}"
    what = {args.html: "tearsheet", args.png: "chart", target: "JSON"}
    for path in written:
        print(f"{what[path]} written to {path}", file=sys.stderr)
    return None
