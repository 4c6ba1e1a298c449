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
    "invoke": "Run one function's handler on an event file, like `sam local invoke` (no Docker).",
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
