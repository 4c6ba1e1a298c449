"""`alchemiser signals`: evaluate the strategies and show the target weights with their explanation.

    alchemiser signals                                   the configured portfolio, offline data
    alchemiser signals --strategy my.clj --strategy b.clj   these files, equal allocation
    alchemiser signals --as-of 2026-11-25 --json         {"weights", "strategies", "as_of", ...}

The evaluation is the strategy function's own (services/strategy/signals.py `evaluate_signals`): one
price history for every symbol, one indicator cache, netted by allocation. Its data day follows
the function's rule (services/strategy/run_rules.py `data_day`): the last session whose close is
at or before --as-of (default: now). At 09:35 on D that is D-1, what D's run trades on; at or
after D's close it is D; on a weekend or holiday the most recent session. Every output says
"data through <day> close" (and SYNTHETIC for the offline source).

Every strategy is evaluated, and each one's error is reported beside the others' results (exit 1
if any failed; nothing is netted then). Nothing is published and nothing is stored (except
Alpaca bars cached under --state-dir).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alchemiser.commands.common import (
    UsageError,
    add_limit_flags,
    add_state_dir,
    as_of_arg,
    dumps,
    effective_limits,
    fail,
    limits_file_problem,
)
from alchemiser.commands.tickers import add_invented_flag, invented_tickers, unknown_tickers

if TYPE_CHECKING:
    from services.strategy.portfolio_config import StrategyPortfolio
    from services.strategy.settings import StrategySettings
    from services.strategy.signals import Signals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", action="append", type=Path, metavar="FILE", default=[],
                        help="a strategy file (.clj); repeat for several, held with equal allocation "
                             "(default: the strategies of the portfolio file)")
    parser.add_argument("--config", type=Path, metavar="TOML",
                        help="a portfolio file naming strategies and allocations "
                             "(default: services/strategy/strategies/portfolio.toml)")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME",
                        help="evaluate as the run at this moment would (default: now); the data is the "
                             "last session closed at or before it (a date alone means 09:35 New York)")
    parser.add_argument("--data", default="offline", metavar="offline|alpaca|DIR",
                        help="market data: generated offline history (default), Alpaca bars "
                             "(keys in APCA_API_KEY_ID / APCA_API_SECRET_KEY), or a directory of SYMBOL.csv files")
    parser.add_argument("--timing", choices=("previous-close", "near-close"), default="previous-close",
                        help="near-close: Composer's timing, today's latest trades as today's bar when --as-of is "
                             "before the close (Alpaca's latest trades; the offline source simulates them)")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true",
                        help='print {"weights", "strategies", "as_of", ...} as JSON instead of the text report')
    add_invented_flag(parser)
    add_limit_flags(parser)


def _settings(args: argparse.Namespace) -> StrategySettings:
    from services.strategy.settings import StrategySettings
    from shared.venues.factory import local_settings

    values = {"ALCHEMISER_STATE_DIR": str(args.state_dir), "ALCHEMISER_MARKET_DATA": args.data,
              "ALCHEMISER_CALENDAR": "exchange",
              "ALCHEMISER_EVALUATION_TIMING": getattr(args, "timing", "previous-close")}
    if args.as_of is not None:
        values["ALCHEMISER_AS_OF"] = args.as_of.isoformat()
    if args.config is not None:
        values["ALCHEMISER_STRATEGY_CONFIG"] = str(args.config.resolve())
    return local_settings(StrategySettings, os.environ, **values)


def files_portfolio(files: list[Path]) -> StrategyPortfolio:
    """The given strategy files, each with an equal share (parsed now: errors name file:line:col)."""
    return collected_files_portfolio(files, collect=False)[0]


def collected_files_portfolio(files: list[Path], *, collect: bool = True) -> tuple[StrategyPortfolio, list[Any]]:
    """The given files, each with an equal share; with `collect`, files that do not parse are
    returned apart (BrokenStrategy) instead of raising."""
    from services.strategy.language import StrategyError, parse_file
    from services.strategy.portfolio_config import BrokenStrategy, StrategyEntry, StrategyPortfolio
    from services.strategy.run_rules import equal_allocations, unique_names

    paths = [f.resolve() for f in files]
    names = unique_names([p.stem for p in paths])
    entries, broken = [], []
    for name, path, share in zip(names, paths, equal_allocations(len(paths)), strict=True):
        try:
            entries.append(StrategyEntry(name, path, share, parse_file(path)))
        except StrategyError as exc:
            if not collect:
                raise
            broken.append(BrokenStrategy(name, path, share, exc))
    return StrategyPortfolio(Path.cwd() / "(command line)", tuple(entries)), broken


def run(args: argparse.Namespace) -> int:
    with invented_tickers(args):
        return _signals(args)


def _signals(args: argparse.Namespace) -> int:
    from services.strategy.app import near_close
    from services.strategy.dependencies import make_calendar
    from services.strategy.failures import failure_of
    from services.strategy.portfolio_config import BrokenStrategy, load_portfolio
    from services.strategy.run_rules import data_session, display_file, stale_reason
    from services.strategy.signals import StrategyFailure, evaluate_signals
    from shared.broker.port import CredentialsError
    from shared.marketdata.port import MarketDataError
    from shared.runtime.clock import trading_date
    from shared.venues.factory import market_data_for

    settings = _settings(args)
    problem = _usage_problem(args, settings)
    if problem:
        return fail(problem)
    try:
        market_data = market_data_for(settings)
        calendar = make_calendar(settings)
        now = args.as_of or datetime.now(UTC)
        day = trading_date(now)
        data_day = data_session(calendar, now).date
        today = near_close(settings.model_copy(update={"near_close_window_minutes": 24 * 60}),
                           calendar.session(day), now)[1]
    except (ValueError, CredentialsError) as exc:
        return fail(str(exc))
    broken: list[BrokenStrategy] = []
    try:
        if args.strategy:
            portfolio, broken = collected_files_portfolio(args.strategy)
        else:
            portfolio = load_portfolio(settings.strategy_config, broken=broken)
        typo = unknown_tickers(portfolio, args.data)
        if typo:
            return fail(typo)
        base = portfolio.source.parent
        failures = [StrategyFailure(b.name, display_file(b.file, base), str(b.error)) for b in broken]
        if portfolio.strategies:
            signals = evaluate_signals(portfolio, market_data, data_day, require_fresh=False, collect_errors=True,
                                       failures=failures, today=today, latest_at=now)
        else:
            signals = None
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None and not isinstance(exc, MarketDataError):
            raise
        from alchemiser.text import say

        say(failure.reason if failure is not None else f"market data: {exc}", err=True)
        return 1
    if signals is None:  # every strategy failed to parse
        for f in failures:
            print(f"strategy {f.name!r}: {f.reason}", file=sys.stderr)
        return 1
    try:
        notes = limit_notes(signals, effective_limits(args, signals.portfolio.limits))
    except UsageError as exc:
        return fail(str(exc))
    stale = stale_reason(signals.data_as_of, data_day) is not None
    if stale:
        from alchemiser.commands.data_end import as_of_hint

        print(f"warning: {as_of_hint(calendar, signals.data_as_of)}. The run of {day.isoformat()} needs the closes "
              f"of {data_day.isoformat()} and would fail closed as stale; shown anyway, since nothing trades here",
              file=sys.stderr)
    equal = bool(args.strategy)
    if args.json:
        body = signals.as_dict()
        body.update(trading_date=day.isoformat(), data_day=data_day.isoformat(),
                    allocation="equal" if equal else str(signals.portfolio.source), stale=stale,
                    limits=notes["limits"], limit_notes=notes["notes"])
        print(dumps(body))
    else:
        from alchemiser.text import readable

        sys.stdout.write(readable(render(signals, trading_day=day, source=args.data, equal=equal)))
        if notes["notes"]:
            sys.stdout.write("\nLimits (as the run would apply them):\n"
                             + "".join(f"  {line}\n" for line in notes["notes"]))
    for f in signals.failures:
        print(f"strategy {f.name!r}: {f.reason}", file=sys.stderr)
    return 1 if signals.failures else 0


def limit_notes(signals: Signals, limits: Any) -> dict[str, Any]:
    """What the user's position cap does to these weights, by the portfolio's own rule (services/portfolio/day.py):
    clipped (clip), or the plan refused (refuse) for each target above the cap. Nothing else binds without an
    account: `alchemiser plan` checks every limit."""
    from services.portfolio.day import clip_targets, over_cap
    from services.portfolio.planner import StrategyPart
    from shared.limits.model import how_to_change, percent

    notes: list[str] = []
    if signals.net is not None:
        if limits.position_cap == "clip":
            parts = [StrategyPart(o.entry.name, o.entry.allocation, dict(o.evaluation.weights))
                     for o in signals.outcomes]
            notes = [b.line() for b in clip_targets(signals.weights, parts, limits)[2]]
        else:
            notes = [f"max_position_weight ({limits.text('max_position_weight')}): {symbol}'s target {percent(weight)} "
                     f"is above it: the run would place nothing (position_cap = refuse). "
                     f"{how_to_change('max_position_weight', limits)}"
                     for symbol, weight in over_cap(signals.weights, limits).items()]
    return {"limits": limits.model_dump(mode="json"), "notes": notes}


def _usage_problem(args: argparse.Namespace, settings: StrategySettings) -> str | None:
    if args.strategy and args.config is not None:
        return "give either --strategy files or --config, not both"
    if args.data.strip().lower() == "alpaca" and not (os.environ.get("APCA_API_KEY_ID")
                                                      and os.environ.get("APCA_API_SECRET_KEY")):
        return "--data alpaca needs Alpaca keys in APCA_API_KEY_ID and APCA_API_SECRET_KEY"
    return None if args.strategy else limits_file_problem(settings.strategy_config)


def _pct(value: Any) -> str:
    return f"{float(value) * 100:6.2f}%"


def render(signals: Signals, *, trading_day: Any, source: str, equal: bool) -> str:
    """The text report: where the numbers come from, the net weights, then each strategy's tree."""
    portfolio = signals.portfolio
    count = len(signals.outcomes) + len(signals.failures)
    lines = [f"Signals on {source} data, {signals.data_through} "
             f"(as the run of {trading_day:%A %Y-%m-%d} would trade)"]
    if signals.synthetic:
        from alchemiser.text import SYNTHETIC

        lines.append(SYNTHETIC)
    if equal:
        lines.append(f"Equal allocation across the {count} given strategy file{'s' if count != 1 else ''} "
                     "(no portfolio file)")
    else:
        lines.append(f"Portfolio: {portfolio.source} ({count} strateg{'ies' if count != 1 else 'y'})")
    if signals.net is not None:
        from alchemiser.console import Column, table

        rows = [[symbol, _pct(weight).strip(),
                 ", ".join(f"{name} {_pct(w).strip()}" for name, w in signals.net.by_symbol(symbol).items())]
                for symbol, weight in sorted(signals.weights.items(), key=lambda kv: (-kv[1], kv[0]))]
        lines += ["", "Net target weights:",
                  *table([Column("Symbol", style="bold"), Column("Weight", right=True), Column("From")], rows)]
    else:
        lines += ["", f"No net target weights: {len(signals.failures)} of {count} strategies failed (below)."]
    for outcome in signals.outcomes:
        entry = outcome.entry
        held = ", ".join(f"{s} {_pct(w).strip()}" for s, w in
                         sorted(outcome.evaluation.weights.items(), key=lambda kv: (-kv[1], kv[0])))
        lines += ["", f"{entry.name} — allocation {_pct(entry.allocation).strip()} — {outcome.file}",
                  f"  holds: {held}", "  why:"]
        lines += [f"    {line}" for line in outcome.evaluation.render().splitlines()]
    for failure in signals.failures:
        lines += ["", f"{failure.name} — FAILED — {failure.file}", f"  error: {failure.reason}"]
    return "\n".join(lines) + "\n"
