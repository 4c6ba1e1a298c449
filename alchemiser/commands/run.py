"""`alchemiser run`: trade a whole day locally, through the real handlers and the template's rules."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from zoneinfo import ZoneInfo

from alchemiser.commands.common import add_state_dir, as_of_arg, dumps, fail
from alchemiser.commands.run_summary import hop_line, render
from alchemiser.local.day import DayOptions, DayResult, run_day

EXIT = {"completed": 0, "skipped": 0, "duplicate": 0, "failed": 1, "incomplete": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME",
                        help="the moment the Scheduler fires (default: the latest trading session at 09:35 ET)")
    add_state_dir(parser)
    parser.add_argument("--broker", choices=("sim", "alpaca"), default="sim",
                        help="the simulated broker (default) or Alpaca paper (needs APCA_API_KEY_ID/SECRET_KEY)")
    parser.add_argument("--data", default="offline", metavar="offline|alpaca|DIR",
                        help="market data: generated offline history (default), Alpaca bars, or a CSV directory")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")


def alpaca_keys_from_env() -> tuple[str, str] | None:
    key, secret = os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY")
    return (key, secret) if key and secret else None


def portfolio_after(options: DayOptions, result: DayResult) -> dict[str, Any] | None:
    """Read the account after the day from the same broker the chain used."""
    from shared.broker.factory import make_broker
    from shared.broker.port import BrokerError
    from shared.broker.settings import BrokerSettings

    env = {"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(options.state_dir),
           "ALCHEMISER_AS_OF": result.as_of.isoformat(), "ALCHEMISER_BROKER": options.broker,
           "ALCHEMISER_MARKET_DATA": options.data}
    if options.alpaca_keys:
        env["ALCHEMISER_ALPACA_API_KEY"], env["ALCHEMISER_ALPACA_SECRET_KEY"] = options.alpaca_keys
    try:
        broker = make_broker(BrokerSettings.from_env(env))
        account, positions = broker.get_account(), broker.get_positions()
    except (BrokerError, ValueError, OSError) as exc:
        print(f"(could not read the account after the day: {exc})", file=sys.stderr)
        return None
    return {"equity": account.equity, "cash": account.cash,
            "positions": [{"symbol": p.symbol, "qty": p.qty, "market_value": p.market_value} for p in positions]}


def as_json(result: DayResult, after: dict[str, Any] | None) -> dict[str, Any]:
    trade = result.last("TradeExecuted")
    return {
        "status": result.status,
        "reason": result.reason,
        "correlation_id": result.correlation_id,
        "as_of": result.as_of.isoformat(),
        "events": result.detail_types,
        "orders_placed": result.orders_placed,
        "orders": trade["orders"] if trade else [],
        "duplicates_suppressed": result.duplicates_suppressed,
        "dead_lettered": result.dead_lettered,
        "deliveries": len(result.hops),
        "target_weights": (result.last("SignalGenerated") or {}).get("target_weights", {}),
        "portfolio_after": after,
    }


def run(args: argparse.Namespace) -> int:
    keys = alpaca_keys_from_env()
    if "alpaca" in (args.broker, args.data) and keys is None:
        return fail("--broker alpaca / --data alpaca need Alpaca paper keys in APCA_API_KEY_ID and APCA_API_SECRET_KEY")
    options = DayOptions(args.state_dir, args.as_of, args.broker, args.data, keys)
    if not args.json:
        where = f"{'Alpaca paper' if args.broker == 'alpaca' else 'simulated broker'}, {args.data} data"
        print(f"The Alchemiser: a local trading day ({where}; state in {args.state_dir})", flush=True)

    def progress(hop: Any) -> None:
        print(hop_line(hop), flush=True)

    result = run_day(options, on_hop=None if args.json else progress)
    if not args.json:
        local = result.as_of.astimezone(ZoneInfo("America/New_York"))
        print(f"  (as of {local:%Y-%m-%d %H:%M} New York)")
    after = portfolio_after(options, result) if result.status not in ("skipped",) else None
    if args.json:
        print(dumps(as_json(result, after)))
    else:
        print(render(result, after))
    return EXIT.get(result.status, 1)
