"""`alchemiser init --stage STAGE`: a guided first setup, like `sam deploy --guided`.

1. Writes the stage's deploy settings into `infra/samconfig.toml` (the `[<stage>.deploy.parameters]`
   section and the stage's region in `[<stage>.global.parameters]`), through tomlkit, so every other
   section and every comment stays as it is. `parameter_overrides` is merged key by key: what you do
   not set keeps its value.
2. Creates or updates the stage's Alpaca secret (`alchemiser/<stage>/alpaca` unless
   `--secret-name`), in the layout shared/venues/alpaca/keys.py reads. Keys come from the
   environment (APCA_API_KEY_ID / APCA_API_SECRET_KEY for paper, APCA_LIVE_API_KEY_ID /
   APCA_LIVE_API_SECRET_KEY for live), from `--keys-stdin` (lines KEY=VALUE with those names) or
   from a hidden prompt (getpass); they are never printed. A pair you do not give keeps the value the
   secret already has; the merged secret is validated before it is written, and an unchanged one is
   not written again.
3. Prints the next commands.

Running it again changes only what you changed: it is safe to repeat. `--yes` asks nothing (every
answer from the flags, the existing file and the defaults) for scripts and tests.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from alchemiser.commands.aws import DEFAULT_SAMCONFIG, AwsProblem, aws_errors, region
from alchemiser.commands.common import UsageError, fail, stage_arg

PAIRS = {"paper": ("api_key", "secret_key", "APCA_API_KEY_ID", "APCA_API_SECRET_KEY"),
         "live": ("live_api_key", "live_secret_key", "APCA_LIVE_API_KEY_ID", "APCA_LIVE_API_SECRET_KEY")}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", type=stage_arg, required=True, help="the stage to set up (dev or prod)")
    parser.add_argument("--samconfig", type=Path, default=DEFAULT_SAMCONFIG, metavar="FILE",
                        help="the SAM config file to write (default: infra/samconfig.toml)")
    parser.add_argument("--region", help="the stage's AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, or the "
                                         "one already in samconfig.toml)")
    parser.add_argument("--stack-name", help="the CloudFormation stack (default: alchemiser-<stage>)")
    parser.add_argument("--trading-mode", choices=("paper", "live"),
                        help="TradingMode (default: what samconfig.toml has, else paper); live needs live keys")
    parser.add_argument("--email", help="NotificationEmail for reports and alarms ('' for none)")
    parser.add_argument("--secret-name", help="the Alpaca secret (default: alchemiser/<stage>/alpaca)")
    parser.add_argument("--keys-stdin", action="store_true",
                        help="read the keys from standard input, lines NAME=VALUE (APCA_API_KEY_ID, "
                             "APCA_API_SECRET_KEY, APCA_LIVE_API_KEY_ID, APCA_LIVE_API_SECRET_KEY)")
    parser.add_argument("--skip-secret", action="store_true", help="write samconfig.toml only; leave the secret alone")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="ask nothing: answers from the flags, the existing file and the defaults")


# ---------------------------------------------------------------------------------------------- samconfig


def parse_overrides(text: str) -> dict[str, str]:
    """`Stage=dev TradingMode=paper NotificationEmail="a b"` -> a dict (SAM's own quoting)."""
    found: dict[str, str] = {}
    for word in shlex.split(text or ""):
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise UsageError(f"parameter_overrides: cannot read {word!r} (expected Name=Value)")
        found[key] = value
    return found


def format_overrides(values: dict[str, str]) -> str:
    return " ".join(f"{k}={_quoted(v)}" for k, v in values.items())


def _quoted(value: str) -> str:
    return value if value and re.fullmatch(r"[A-Za-z0-9_./@:+,=-]+", value) else json.dumps(value)


def load_samconfig(path: Path) -> Any:
    import tomlkit

    if not path.exists():
        document = tomlkit.document()
        document.add("version", 0.1)
        return document
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit's ParseError says line and column
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc


def _table(document: Any, *names: str) -> Any:
    import tomlkit

    table = document
    for name in names:
        if name not in table:
            table[name] = tomlkit.table(is_super_table=name != names[-1])
        table = table[name]
    return table


def stage_settings(document: Any, stage: str) -> tuple[dict[str, Any], str | None]:
    deploy = document.get(stage, {}).get("deploy", {}).get("parameters", {})
    where = document.get(stage, {}).get("global", {}).get("parameters", {}).get("region")
    return dict(deploy), where


def apply(document: Any, stage: str, *, stack_name: str, region_name: str | None,
          overrides: dict[str, str]) -> None:
    """Write the stage's settings into `document`, keeping what is there and changing only these keys."""
    deploy = _table(document, stage, "deploy", "parameters")
    defaults = {"stack_name": stack_name, "resolve_s3": True, "s3_prefix": stack_name,
                "capabilities": "CAPABILITY_IAM", "confirm_changeset": stage == "prod",
                "fail_on_empty_changeset": False}
    for key, value in defaults.items():
        if (key == "stack_name" or key not in deploy) and deploy.get(key) != value:
            deploy[key] = value
    current = parse_overrides(str(deploy.get("parameter_overrides", "")))
    merged = {**current, **overrides}
    if merged != current or "parameter_overrides" not in deploy:
        deploy["parameter_overrides"] = format_overrides(merged)
    if region_name:
        place = _table(document, stage, "global", "parameters")
        if place.get("region") != region_name:
            place["region"] = region_name


# ---------------------------------------------------------------------------------------------- answers


def _ask(question: str, default: str, args: argparse.Namespace) -> str:
    if args.yes or not sys.stdin.isatty():
        return default
    answer = input(f"{question} [{default}]: ").strip()
    return answer or default


def _keys_from_stdin() -> dict[str, str]:
    found: dict[str, str] = {}
    for number, line in enumerate(sys.stdin.read().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise UsageError(f"--keys-stdin line {number}: expected NAME=VALUE (the value is not shown)")
        found[name.strip()] = value.strip()
    known = {n for pair in PAIRS.values() for n in pair[2:]}
    unknown = sorted(set(found) - known)
    if unknown:
        raise UsageError(f"--keys-stdin: unknown name(s) {', '.join(unknown)} (expected {', '.join(sorted(known))})")
    return found


def given_keys(args: argparse.Namespace, mode: str) -> dict[str, str]:
    """The secret fields given now: from stdin, the environment or a hidden prompt (never echoed)."""
    source = _keys_from_stdin() if args.keys_stdin else dict(os.environ)
    fields: dict[str, str] = {}
    for pair, (key_field, secret_field, key_name, secret_name) in PAIRS.items():
        key, secret = source.get(key_name, "").strip(), source.get(secret_name, "").strip()
        wanted = pair == "paper" or mode == "live"
        if not (key or secret) and wanted and not args.keys_stdin and not args.yes and sys.stdin.isatty():
            print(f"Alpaca {pair} keys (input hidden; Enter to keep what the secret has):")
            key = getpass.getpass(f"  {key_name}: ").strip()
            secret = getpass.getpass(f"  {secret_name}: ").strip() if key else ""
        if bool(key) != bool(secret):
            raise UsageError(f"give both {key_name} and {secret_name}, or neither (a pair is all or nothing)")
        if key:
            fields[key_field], fields[secret_field] = key, secret
    return fields


# ---------------------------------------------------------------------------------------------- the secret


def write_secret(name: str, fields: dict[str, str], mode: str, secrets: Any) -> str:
    """Create or update the secret with `fields`, keeping what it has otherwise; says what it did."""
    from botocore.exceptions import ClientError

    from shared.broker.port import CredentialsError
    from shared.venues.alpaca.keys import parse_secret_data

    try:
        existing_text = secrets.get_secret_value(SecretId=name)["SecretString"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        existing_text = None
    try:
        existing = json.loads(existing_text) if existing_text is not None else {}
    except ValueError:
        raise UsageError(f"secret {name!r} exists but is not JSON; fix or delete it first") from None
    if not isinstance(existing, dict):
        raise UsageError(f"secret {name!r} exists but is not a JSON object; fix or delete it first")
    merged = {**existing, **fields}
    if existing_text is None and not fields:
        return (f"secret {name}: not created (no keys given); set APCA_API_KEY_ID and APCA_API_SECRET_KEY "
                f"and run this again")
    try:
        credentials = parse_secret_data(name, merged)
        credentials.keys_for_mode(mode)
    except CredentialsError as exc:
        raise UsageError(str(exc)) from None
    pairs = ", ".join(p for p, held in (("paper", credentials.paper_keys), ("live", credentials.live_keys)) if held)
    if existing_text is None:
        secrets.create_secret(Name=name, SecretString=json.dumps(merged),
                              Description="The Alchemiser: Alpaca API keys (shared/venues/alpaca/keys.py)")
        return f"secret {name}: created ({pairs} keys)"
    if merged == existing:
        return f"secret {name}: unchanged ({pairs} keys)"
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps(merged))
    return f"secret {name}: updated ({pairs} keys; running functions pick it up within 5 minutes)"


# ---------------------------------------------------------------------------------------------- the command


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except UsageError as exc:
        return fail(str(exc))
    except AwsProblem as exc:
        return fail(str(exc), code=1)


def _run(args: argparse.Namespace) -> int:
    stage: str = args.stage
    document = load_samconfig(args.samconfig)
    deploy, old_region = stage_settings(document, stage)
    current = parse_overrides(str(deploy.get("parameter_overrides", "")))
    region_name = args.region or old_region or region()
    if not args.region:
        region_name = _ask("AWS region", region_name or "us-east-1", args) if not old_region else region_name
    stack_name = args.stack_name or str(deploy.get("stack_name") or f"alchemiser-{stage}")
    mode = args.trading_mode or _ask("TradingMode (paper | live)", current.get("TradingMode", "paper"), args)
    if mode not in ("paper", "live"):
        raise UsageError(f"TradingMode {mode!r}: expected paper or live")
    email = args.email if args.email is not None else _ask(
        "NotificationEmail (empty for none)", current.get("NotificationEmail", ""), args)
    if email and not EMAIL.match(email):
        raise UsageError(f"NotificationEmail {email!r} is not an email address")
    overrides = {"Stage": stage, "TradingMode": mode}
    if email or "NotificationEmail" in current:
        overrides["NotificationEmail"] = email
    if args.secret_name:
        overrides["AlpacaSecretName"] = args.secret_name
    secret_name = args.secret_name or current.get("AlpacaSecretName") or f"alchemiser/{stage}/alpaca"

    secret_line = "secret: left alone (--skip-secret)"
    if not args.skip_secret:
        fields = given_keys(args, mode)
        import boto3

        with aws_errors(stage):
            secrets = boto3.session.Session(region_name=region_name).client("secretsmanager")
            secret_line = write_secret(secret_name, fields, mode, secrets)

    before = args.samconfig.read_text(encoding="utf-8") if args.samconfig.exists() else None
    apply(document, stage, stack_name=stack_name, region_name=region_name, overrides=overrides)
    import tomlkit

    after = tomlkit.dumps(document)
    if after != before:
        args.samconfig.parent.mkdir(parents=True, exist_ok=True)
        scratch = args.samconfig.with_name(f".{args.samconfig.name}.tmp")
        scratch.write_text(after, encoding="utf-8")
        os.replace(scratch, args.samconfig)
    print(f"{args.samconfig}: [{stage}] {'written' if after != before else 'unchanged'} "
          f"(stack {stack_name}, region {region_name or '-'}, {format_overrides({**current, **overrides})})")
    print(secret_line)
    if mode == "live":
        print("TradingMode=live trades real money: read docs/deploy.md, 'Going live', before deploying.")
    print("\nNext:\n"
          f"  make deploy STAGE={stage}            # or: make build && cd infra && sam deploy --config-env {stage}\n"
          f"  alchemiser status --stage {stage}     # after the deploy: workflows, kill switch, account, alarms\n"
          f"  alchemiser kill-switch halted --stage {stage}   # stop orders at once if you need to")
    return 0
