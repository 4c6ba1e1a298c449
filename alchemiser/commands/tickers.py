"""A typo'd ticker is not a strategy: on offline data, every ticker a strategy names must be one the offline market
knows (shared/marketdata/offline_tickers.py), else the command stops before it runs (exit 2), naming the ticker,
where the strategy uses it (file:line:col) and the closest known tickers. `--allow-invented-tickers` gives the
others a generated history anyway (ALCHEMISER_ALLOW_INVENTED_TICKERS=1 for the command and its local functions).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FLAG = "--allow-invented-tickers"


def add_invented_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(FLAG, action="store_true",
                        help="with offline data, give a ticker the offline market does not know an invented "
                             "(synthetic) history instead of refusing it as a likely typo")


@contextmanager
def invented_tickers(args: argparse.Namespace) -> Iterator[None]:
    """For the command's duration, the offline market invents histories when the flag says so (the local
    functions the command runs read the same variable)."""
    from shared.marketdata.offline import INVENTED_TICKERS_ENV

    if not getattr(args, "allow_invented_tickers", False):
        yield
        return
    before = os.environ.get(INVENTED_TICKERS_ENV)
    os.environ[INVENTED_TICKERS_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(INVENTED_TICKERS_ENV, None)
        else:
            os.environ[INVENTED_TICKERS_ENV] = before


def unknown_tickers(portfolio: Any, data: str) -> str | None:
    """Why the portfolio's strategies cannot run on `data` (each unknown ticker: file:line:col, the closest
    known), or None. Only the offline source invents; a CSV folder or Alpaca says what it lacks itself."""
    if data.strip().lower() != "offline":
        return None
    from alchemiser.local.storage import display_path
    from services.strategy.language.evaluator import first_use
    from shared.marketdata.offline import OfflineMarketData, unknown_ticker_message

    market = OfflineMarketData()
    if market.any_symbol:
        return None
    problems = []
    for entry in portfolio.strategies:
        for symbol in entry.symphony.symbols:
            if not market.knows(symbol):
                at = first_use(entry.symphony.body, symbol).pos
                where = display_path(entry.symphony.source_file)
                problems.append(f"strategy {entry.name!r}: {where}:{at.line}:{at.column}: "
                                f"{unknown_ticker_message(symbol)}")
    if not problems:
        return None
    return ("; ".join(problems) + f". Check the ticker; or pass {FLAG} to give it an invented (synthetic) history, "
            "or use real data (--data DIR or --data alpaca)")
