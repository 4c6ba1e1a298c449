"""`alchemiser limits [--config FILE] [--stage S]`: each effective limit, and where it came from.

    alchemiser limits                         the packaged portfolio file, then ALCHEMISER_<KEY> in your shell
    alchemiser limits --config my.toml        your portfolio file's [limits]
    alchemiser limits --stage dev             what a deploy of the stage runs: the portfolio file, then the
                                              stage's template parameters in infra/samconfig.toml

Precedence, lowest first: the default, the portfolio file's `[limits]`, `ALCHEMISER_<KEY>` (in a
deployed stage: its template parameter), a command's flag (`--max-position-weight`, on run, plan,
backtest and signals). The loader is shared/limits/loader.py, the one every mode uses. An
out-of-range value (negative, NaN, zero, a weight above 1, an unknown key) is exit 2 naming the key
and its file:line, variable or parameter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from alchemiser.commands.common import UsageError, add_limit_flags, dumps, effective_limits, existing_file, fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=existing_file, metavar="PORTFOLIO.toml",
                        help="the portfolio file (default: services/strategy/strategies/portfolio.toml)")
    parser.add_argument("--stage", metavar="STAGE",
                        help="the limits a deploy of this stage runs with: the portfolio file, then the stage's "
                             "template parameters (infra/samconfig.toml); your shell's environment does not reach it")
    parser.add_argument("--samconfig", type=Path, metavar="FILE", help="with --stage: the SAM config (default: "
                                                                       "infra/samconfig.toml)")
    parser.add_argument("--json", action="store_true", help="print the limits as JSON")
    add_limit_flags(parser)


def stage_overrides(samconfig: Path, stage: str) -> dict[str, str]:
    """Limit key -> the value the stage's template parameter sets (non-empty ones only)."""
    import tomllib

    from alchemiser.commands.init import parse_overrides
    from shared.limits.specs import SPECS

    try:
        config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{samconfig}: {exc}") from exc
    deploy = config.get(stage, {}).get("deploy", {}).get("parameters")
    if deploy is None:
        raise UsageError(f"{samconfig} has no [{stage}.deploy.parameters]: `alchemiser init --stage {stage}` writes it")
    overrides = parse_overrides(str(deploy.get("parameter_overrides", "")))
    return {spec.key: overrides[spec.parameter] for spec in SPECS if overrides.get(spec.parameter, "") != ""}


def resolve(args: argparse.Namespace) -> tuple[Any, str]:
    """(the effective limits, what was read)."""
    from alchemiser.commands.aws import DEFAULT_SAMCONFIG
    from services.strategy.settings import PACKAGED_CONFIG
    from shared.limits.loader import LimitsError, display, overridden, read_file
    from shared.limits.specs import SPEC_OF

    portfolio = args.config or PACKAGED_CONFIG
    try:
        limits = read_file(portfolio)
        if args.stage is None:
            return effective_limits(args, limits), f"{display(portfolio)}, then ALCHEMISER_<KEY> in this environment"
        samconfig = args.samconfig or DEFAULT_SAMCONFIG
        label = f"{display(samconfig)} [{args.stage}]"
        limits = overridden(limits, stage_overrides(samconfig, args.stage),
                            lambda k: f"template parameter {SPEC_OF[k].parameter} ({label})")
        return effective_limits(args, limits, env={}), f"{display(portfolio)}, then the template parameters of {label}"
    except LimitsError as exc:
        raise UsageError(str(exc)) from exc


def render(limits: Any, read: str) -> str:
    from shared.limits.specs import SPECS

    lines = [f"Limits ({read}):", ""]
    width = max(len(s.key) for s in SPECS)
    for spec in SPECS:
        lines.append(f"  {spec.key:<{width}}  {limits.text(spec.key):>8}  {limits.source(spec.key)}")
        lines.append(f"  {'':<{width}}            {spec.summary}")
        lines.append(f"  {'':<{width}}            default because: {spec.why}")
    lines += ["", "Set them in the portfolio file ([limits] table), override with ALCHEMISER_<KEY> or a flag "
                  "(--max-position-weight ...) on run, plan, backtest and signals; in a deployed stage with its "
                  "template parameters (MaxPositionWeight ...). Every limit measures what a plan buys: sells are "
                  "never limited."]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    if args.samconfig is not None and args.stage is None:
        return fail("--samconfig needs --stage")
    try:
        limits, read = resolve(args)
    except UsageError as exc:
        return fail(str(exc))
    if args.json:
        from shared.limits.specs import SPECS

        print(dumps({"read": read, "limits": {s.key: {"value": limits.value(s.key), "text": limits.text(s.key),
                                                      "source": limits.source(s.key)} for s in SPECS}}))
    else:
        sys.stdout.write(render(limits, read))
    return 0
