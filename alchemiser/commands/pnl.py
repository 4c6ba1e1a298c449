"""`alchemiser pnl`: the P&L report, from the local equity snapshots or from Alpaca paper.

The same report as `{"action": "pnl_analysis"}` on the orchestrator function. Locally each
completed workflow stores an equity snapshot in `<state-dir>/state.sqlite`; with `--source alpaca`
the equity comes from Alpaca's portfolio history (paper keys in APCA_API_KEY_ID /
APCA_API_SECRET_KEY; ALCHEMISER_ALPACA_TRADING_URL points at another server, as it does every
Alpaca client) and is cross-checked against those snapshots.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from alchemiser.commands.common import add_state_dir, as_of_arg, dumps, fail
from services.orchestrator.settings import OrchestratorSettings


def _tolerance(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number (a fraction, e.g. 0.05)") from exc
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be a fraction between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", metavar="PERIOD",
                        help="1W, 1M, 3M, 1A ... (default: 1M, or --periods weeks/months with --type)")
    parser.add_argument("--type", dest="pnl_type", choices=("weekly", "monthly"), help="P&L per week or month")
    parser.add_argument("--periods", type=int, metavar="N", help="how many weeks/months to show (with --type)")
    parser.add_argument("--detailed", action="store_true", help="add per-day and per-strategy figures")
    parser.add_argument("--source", choices=("local", "alpaca"), default="local",
                        help="equity from the local snapshots (default) or from Alpaca paper")
    parser.add_argument("--mode", choices=("paper", "live"), default="paper",
                        help="whose snapshots to read (default paper)")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME", help="the report's end (default: now)")
    parser.add_argument("--tolerance", type=_tolerance, metavar="FRACTION",
                        default=OrchestratorSettings.model_fields["equity_mismatch_tolerance"].default,
                        help="flag days where Alpaca and our snapshot differ by more (default 0.05)")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="also write the backtest's tearsheet for this equity history (to compare with "
                             "`alchemiser backtest --html` over the same days)")


def run(args: argparse.Namespace) -> int:
    from services.orchestrator import pnl
    from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore
    from services.orchestrator.adapters.snapshot_portfolio_history import SnapshotPortfolioHistory
    from services.orchestrator.messages import pnl_messages
    from services.orchestrator.ports import PortfolioHistory
    from shared.runtime.clock import NEW_YORK

    if args.periods is not None and args.periods < 1:
        return fail("--periods must be at least 1")
    if args.html is not None:
        from alchemiser.commands.common import UsageError
        from alchemiser.commands.outputs import check_outputs

        try:
            check_outputs([("--html", args.html)], [("--html", "plotly")])
        except UsageError as exc:
            return fail(str(exc))
    if args.source == "alpaca" and args.mode == "live":
        return fail("--source alpaca reads the paper account; a live account's P&L comes from the deployed "
                    "function ({\"action\": \"pnl_analysis\"})")
    try:
        request = pnl.PnlRequest.of(period=args.period, pnl_type=args.pnl_type, periods=args.periods,
                                    detailed=args.detailed)
    except ValueError as exc:
        return fail(str(exc))
    end = (args.as_of or datetime.now(UTC)).astimezone(NEW_YORK).date()
    database = args.state_dir / "state.sqlite"
    store = EmbeddedWorkflowStore(database) if database.exists() else None
    snapshots = store.snapshots(args.mode, pnl.period_start(request.period, end), end) if store else []
    history: PortfolioHistory | None = None
    if args.source == "alpaca":
        from services.orchestrator.adapters.alpaca_portfolio_history import AlpacaPortfolioHistory
        from shared.venues.factory import local_settings
        from shared.venues.settings import BrokerSettings

        if not os.environ.get("APCA_API_KEY_ID") or not os.environ.get("APCA_API_SECRET_KEY"):
            return fail("--source alpaca needs paper keys in APCA_API_KEY_ID and APCA_API_SECRET_KEY")
        from shared.broker.port import CredentialsError
        from shared.venues.alpaca.keys import keys_for

        settings = local_settings(BrokerSettings, os.environ, ALCHEMISER_STATE_DIR=str(args.state_dir))
        try:
            keys = keys_for(settings)
        except CredentialsError as exc:
            return fail(str(exc))
        history = AlpacaPortfolioHistory(keys, trading_url=settings.alpaca_trading_url, read_attempts=2)
    elif store is not None:
        history = SnapshotPortfolioHistory(store, args.mode)
    try:
        points = history.daily_equity(period=request.period, end=end) if history is not None else []
    except pnl.PnlUnavailable as exc:
        return fail(str(exc), code=1)
    report = pnl.build_report(points, snapshots, request, source=args.source, trading_mode=args.mode, end=end,
                              tolerance=args.tolerance)
    if args.html is not None:
        code = write_tearsheet(args.html, [(p.day, p.equity) for p in points], args.source, args.mode)
        if code:
            return code
    from alchemiser.commands.status import synthetic_runs
    from alchemiser.text import SYNTHETIC, readable

    synthetic = args.source == "local" and synthetic_runs(args.state_dir, [s.correlation_id for s in snapshots])
    if args.json:
        print(dumps({**pnl_messages.as_dict(report), "synthetic": synthetic}))
    else:
        if synthetic:
            print(f"{SYNTHETIC} (the equity was recorded on them)")
        sys.stdout.write(readable(pnl_messages.render(report)))
    return 0


def write_tearsheet(path: Path, points: list[tuple[date, Decimal]], source: str, mode: str) -> int:
    """The tearsheet of the recorded equity (one point per day, the last recorded of each day)."""
    from alchemiser.backtest import tearsheet
    from alchemiser.backtest.report import account_doc
    from alchemiser.commands.outputs import Outputs

    daily = sorted(dict(points).items())
    if not daily:
        return fail("no recorded equity in the period: nothing to draw (run `alchemiser run` days first)", code=1)
    where = "Alpaca paper portfolio history" if source == "alpaca" else f"{mode} account, equity recorded locally"
    outputs = Outputs()
    try:
        outputs.add(path, lambda scratch: tearsheet.write_html(account_doc(daily, source=where), scratch,
                                                               title=f"Account — {where}"))
        outputs.commit()
    except OSError as exc:
        return fail(f"could not write {path} (nothing written): {exc}", code=1)
    print(f"tearsheet written to {path}", file=sys.stderr)
    return 0

