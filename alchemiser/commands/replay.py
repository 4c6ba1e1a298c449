"""`alchemiser replay`: re-deliver archived events (locally, or an EventBridge archive replay on a stage).

Replays are safe by design: every consumer is idempotent, so a replayed plan places no order twice.
"""

from __future__ import annotations

import argparse
import uuid
from collections import Counter
from datetime import UTC, datetime

from alchemiser.commands.aws import client, stage_names
from alchemiser.commands.common import add_state_dir, as_of_arg, dumps, fail
from alchemiser.commands.run_summary import hop_line
from alchemiser.local.runtime import LocalRuntime


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=as_of_arg, metavar="ISO-DATETIME", help="first event time")
    parser.add_argument("--to", dest="end", type=as_of_arg, metavar="ISO-DATETIME", help="last event time")
    parser.add_argument("--name", help="the replay's name (default: generated)")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME",
                        help="the local clock the handlers see while replaying (default: now)")
    parser.add_argument("--stage", help="start an EventBridge archive replay on the deployed stage")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    name = args.name or f"replay-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    if args.stage:
        return _replay_on_aws(args, name)
    runtime = LocalRuntime(args.state_dir, as_of=args.as_of,
                           on_hop=None if args.json else (lambda hop: print(hop_line(hop))))
    events = runtime.archive.events(args.start, args.end)
    if not events:
        return fail("no archived events in that window", code=1)
    for envelope in events:
        runtime.route(envelope, replay_name=name)
    hops = runtime.run_until_quiet()
    statuses = Counter((h.error and "error") or h.status for h in hops)
    summary = {"replay_name": name, "events": len(events), "deliveries": len(hops), "outcomes": dict(statuses),
               "published": sum(len(h.published) for h in hops)}
    print(dumps(summary) if args.json else
          f"replayed {len(events)} events as {name}: {len(hops)} deliveries, "
          + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    return 0 if "error" not in statuses else 1


def _replay_on_aws(args: argparse.Namespace, name: str) -> int:
    if args.start is None or args.end is None:
        return fail("--stage replays need --from and --to")
    names = stage_names(args.stage)
    if "archive" not in names:
        return fail("the template declares no AWS::Events::Archive")
    events = client("events")
    archive = events.describe_archive(ArchiveName=names["archive"])
    bus = events.describe_event_bus(Name=names["bus"])
    response = events.start_replay(ReplayName=name, EventSourceArn=archive["ArchiveArn"],
                                   EventStartTime=args.start, EventEndTime=args.end,
                                   Destination={"Arn": bus["Arn"]})
    print(dumps({"replay_name": name, "state": response.get("State"), "arn": response.get("ReplayArn")}))
    return 0
