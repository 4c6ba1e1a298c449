"""`alchemiser replay`: re-deliver archived events (locally, or an EventBridge archive replay on a stage).

Replays are safe by design: every consumer is idempotent, so a replayed plan places no order twice.
A date alone means that whole New York day (`--from 2026-11-25 --to 2026-11-25`). Locally the
handlers run with the broker and data the replayed workflows ran with (see runconfig.py).
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

from alchemiser.commands.aws import AwsProblem, aws_errors, client, rule_names, stage_names
from alchemiser.commands.common import (
    UsageError,
    add_state_dir,
    add_wait,
    as_of_arg,
    dumps,
    fail,
    locked,
    stage_arg,
)
from alchemiser.commands.runconfig import add_config_flags
from alchemiser.text import say

TERMINAL_REPLAY_STATES = ("COMPLETED", "FAILED", "CANCELLED")


def _moment(text: str, *, end: bool) -> datetime:
    from shared.runtime.clock import NEW_YORK

    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"'{text}' is not a date; e.g. 2026-11-25") from exc
        start = datetime.combine(day, clock(0), NEW_YORK)
        return start + timedelta(days=1) - timedelta(microseconds=1) if end else start
    return as_of_arg(text)


def from_arg(text: str) -> datetime:
    """An ISO date-time with an offset, or a date: from that New York day's midnight."""
    return _moment(text, end=False)


def to_arg(text: str) -> datetime:
    """An ISO date-time with an offset, or a date: up to the end of that New York day."""
    return _moment(text, end=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=from_arg, metavar="DATE|ISO-DATETIME",
                        help="first event time (a date: from the start of that New York day)")
    parser.add_argument("--to", dest="end", type=to_arg, metavar="DATE|ISO-DATETIME",
                        help="last event time (a date: to the end of that New York day)")
    parser.add_argument("--name", help="the replay's name (default: generated)")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME",
                        help="the local clock the handlers see while replaying (default: now)")
    parser.add_argument("--stage", type=stage_arg, help="start an EventBridge archive replay on the deployed stage")
    parser.add_argument("--rule", action="append", default=[], metavar="RULE",
                        help="with --stage: replay only to this rule (logical id or name; repeatable)")
    parser.add_argument("--no-follow", action="store_true",
                        help="with --stage: start the replay and return instead of showing its progress")
    parser.add_argument("--timeout", type=float, default=900, metavar="SECONDS",
                        help="with --stage: how long to follow the replay (default: 900)")
    add_config_flags(parser)
    add_state_dir(parser)
    add_wait(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    if args.start is not None and args.end is not None and args.start > args.end:
        return fail(f"--from {args.start.isoformat()} is after --to {args.end.isoformat()}")
    if args.rule and not args.stage:
        return fail("--rule picks the rules of a deployed stage's replay; it needs --stage")
    name = args.name or f"replay-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    try:
        if args.stage:
            with aws_errors(args.stage):
                return _replay_on_aws(args, name)
        return locked(args.state_dir, lambda: _replay_locally(args, name), wait=args.wait)
    except AwsProblem as exc:
        return fail(str(exc), code=1)
    except UsageError as exc:
        return fail(str(exc))


def _replay_locally(args: argparse.Namespace, name: str) -> int:
    from alchemiser.commands import runconfig
    from alchemiser.commands.run_summary import hop_line
    from alchemiser.local.runtime import LocalRuntime
    from alchemiser.local.statedir import recover
    from alchemiser.local.storage import Archive

    archive = Archive(args.state_dir)
    events = archive.events(args.start, args.end)
    for problem in archive.problems:
        say(f"alchemiser: {problem}", err=True)
    if not events:
        return fail("no archived events in that window", code=1)
    broker, data = runconfig.resolve(args.state_dir, runconfig.correlation_ids(events), args.broker, args.data)
    runconfig.announce(broker, data, json_mode=args.json)
    runtime = LocalRuntime(args.state_dir, as_of=args.as_of, env=runconfig.runtime_env(broker, data),
                           on_hop=None if args.json else (lambda hop: say(hop_line(hop), flush=True)))
    recover(runtime)
    for envelope in events:
        runtime.route(envelope, replay_name=name)
    hops = runtime.run_until_quiet()
    statuses = Counter((h.error and "error") or h.status for h in hops)
    summary = {"replay_name": name, "events": len(events), "deliveries": len(hops), "outcomes": dict(statuses),
               "published": sum(len(h.published) for h in hops), "broker": broker, "data": data}
    print(dumps(summary) if args.json else
          f"replayed {len(events)} events as {name}: {len(hops)} deliveries, "
          + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    return 0 if "error" not in statuses else 1


def _rule_arns(events: Any, stage: str, bus: str, wanted: list[str]) -> list[str]:
    names = rule_names(stage)
    arns = []
    for rule in wanted:
        deployed = names.get(rule, rule)
        if deployed not in names.values():
            raise UsageError(f"no rule '{rule}' in the template (rules: {', '.join(sorted(names))})")
        arns.append(str(events.describe_rule(Name=deployed, EventBusName=bus)["Arn"]))
    return arns


def _replay_on_aws(args: argparse.Namespace, name: str) -> int:
    if args.start is None or args.end is None:
        return fail("--stage replays need --from and --to")
    names = stage_names(args.stage)
    if "archive" not in names:
        return fail("the template declares no AWS::Events::Archive")
    events = client("events", args.stage)
    archive = events.describe_archive(ArchiveName=names["archive"])
    bus = events.describe_event_bus(Name=names["bus"])
    destination: dict[str, Any] = {"Arn": bus["Arn"]}
    if args.rule:
        destination["FilterArns"] = _rule_arns(events, args.stage, names["bus"], args.rule)
    response = events.start_replay(ReplayName=name, EventSourceArn=archive["ArchiveArn"],
                                   EventStartTime=args.start, EventEndTime=args.end, Destination=destination)
    state = response.get("State")
    if not args.no_follow:
        state = _follow(events, name, args, state)
    print(dumps({"replay_name": name, "state": state, "arn": response.get("ReplayArn"),
                 "rules": args.rule or "all"}))
    return 0 if state in (None, "STARTING", "RUNNING", "COMPLETED") else 1


def _follow(events: Any, name: str, args: argparse.Namespace, state: str | None) -> str | None:
    """Poll the replay until it ends (or the timeout), printing each change of state to stderr."""
    deadline = time.monotonic() + args.timeout
    last = None
    while True:
        replay = events.describe_replay(ReplayName=name)
        state = replay.get("State", state)
        line = f"replay {name}: {state}"
        if replay.get("EventLastReplayedTime"):
            line += f" (replayed up to {replay['EventLastReplayedTime']})"
        if replay.get("StateReason"):
            line += f": {replay['StateReason']}"
        if line != last:
            say(line, err=True, flush=True)
            last = line
        if state in TERMINAL_REPLAY_STATES or time.monotonic() >= deadline:
            return str(state) if state else None
        time.sleep(2)
