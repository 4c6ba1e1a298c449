"""`alchemiser`: run the system locally and work with the deployed one.

Each subcommand lives in `alchemiser/commands/<name>.py` and is imported only when used: the
parser gets the arguments of the command being run only (the whole parser is built for `completion`),
so `alchemiser --help` and `alchemiser run --help` import no command they do not show.
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
    "status": "The system at a glance: last workflows, kill switch, account, DLQ depth, alarms (--stage for AWS).",
    "kill-switch": "Show or set the kill switch (active | reducing | halted): the local file, or SSM with --stage.",
    "init": "Set up a stage: its settings in infra/samconfig.toml and the Alpaca secret (safe to run again).",
    "plan": "Dry run: what today's run would trade (weights, orders, skips, pre-trade checks); nothing is placed.",
    "limits": "Your limits (position cap, order and turnover caps...): each effective value and where it is set.",
    "completion": "Print a shell completion script: eval \"$(alchemiser completion bash)\" (or zsh, tcsh).",
}


class _Version(argparse.Action):
    """--version, read from the installed package's metadata only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("the-alchemiser")
        except PackageNotFoundError:
            text = "unknown (not installed)"
        print(f"alchemiser {text}")
        parser.exit()


def command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word that is one), if any."""
    return next((word for word in argv if word in COMMANDS), None)


def module_of(command: str) -> str:
    """The module of a command: `kill-switch` lives in alchemiser/commands/kill_switch.py."""
    return f"alchemiser.commands.{command.replace('-', '_')}"


def build_parser(only: str | None = None, *, everything: bool = True) -> argparse.ArgumentParser:
    """The parser; with `everything=False` only the command `only` gets its arguments (fast --help)."""
    parser = argparse.ArgumentParser(
        prog="alchemiser",
        description="The Alchemiser: multi-strategy daily rebalancing on Alpaca, run locally or on AWS.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if everything or name == only:
            importlib.import_module(module_of(name)).add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    import warnings

    # Powertools warns on every invocation that publishes no metric; locally that is noise in the logs.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = build_parser(command_in(words), everything=False)
    if not words:  # asking for nothing is asking what there is
        parser.print_help()
        return 0
    args = parser.parse_args(words)
    module = importlib.import_module(module_of(args.command))
    try:
        code: int = module.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
