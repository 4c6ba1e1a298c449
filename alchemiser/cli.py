"""`alchemiser`: run the system locally and work with the deployed one.

Each subcommand lives in `alchemiser/commands/<name>.py` and is imported only when used, so
`alchemiser --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "run": "Trade a whole day locally: strategies, plan, orders, report (no keys, no network).",
    "send": "Put an event on the bus (locally, or on a deployed stage with --stage), like the console's Send events.",
    "replay": "Replay archived events; consumers are idempotent, so nothing executes twice.",
    "dlq": "List, show and redrive the dead-letter queue.",
    "invoke": "Run one function's handler on an event file, like `sam local invoke` (no Docker).",
    "signals": "Evaluate the strategies and show the target weights with the explanation of each decision.",
    "convert": "Convert a strategy between Composer's JSON score and the canonical .clj (errors say file:line:col).",
    "pnl": "The P&L report from the local equity snapshots (or Alpaca paper with --source alpaca).",
    "backtest": "Run the strategies over past sessions on the chain's own code: metrics, JSON, HTML tearsheet.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alchemiser",
        description="The Alchemiser: multi-strategy daily rebalancing on Alpaca, run locally or on AWS.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"alchemiser.commands.{name}")
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f"alchemiser.commands.{args.command}")
    try:
        code: int = module.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
