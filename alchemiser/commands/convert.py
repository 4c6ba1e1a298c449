"""`alchemiser convert FILE`: a strategy in the canonical `.clj`, or in Composer's JSON score.

    alchemiser convert my.json                 the canonical .clj on stdout
    alchemiser convert my.json -o my.clj       written to a file
    alchemiser convert my.clj --to json        Composer's JSON score (what its API and MCP server take)

Either input is read by the same parser the strategy function uses, so a file that converts is a
file that runs; errors say file:line:col. The tree is the same both ways (round-trip tested).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from alchemiser.commands.common import fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="a strategy: .clj or Composer's JSON score (.json)")
    parser.add_argument("--to", choices=("clj", "json"), default="clj",
                        help="output format (default: clj, the canonical symphony text)")
    parser.add_argument("-o", "--output", type=Path, metavar="OUT", help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    from services.strategy.language import StrategyError, parse_file, to_text
    from services.strategy.language.composer_json import to_score

    try:
        symphony = parse_file(args.file)
    except StrategyError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        text = to_text(symphony) if args.to == "clj" else json.dumps(to_score(symphony), indent=2) + "\n"
    except ValueError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"wrote {args.output} ({len(symphony.symbols)} tickers)", file=sys.stderr)
    return 0
