"""`alchemiser send`: what the EventBridge console's "Send events" does, locally or on a stage."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from alchemiser.commands.aws import client, stage_names
from alchemiser.commands.common import UsageError, add_state_dir, as_of_arg, dumps, fail, read_json_file
from alchemiser.commands.run_summary import hop_line
from alchemiser.local.runtime import LocalRuntime


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="e.g. alchemiser.strategy")
    parser.add_argument("--detail-type", required=True, help="e.g. SignalGenerated")
    parser.add_argument("--detail", required=True, type=Path, metavar="FILE",
                        help="the detail JSON (or a whole EventBridge envelope: its 'detail' is used)")
    parser.add_argument("--stage", help="send to the deployed stage's bus through boto3 instead of locally")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME", help="local clock")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true")


def load_detail(path: Path) -> dict[str, object]:
    data = read_json_file(path)
    if isinstance(data, dict) and "detail" in data and "detail-type" in data:
        data = data["detail"]
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the detail must be a JSON object")
    return data


def run(args: argparse.Namespace) -> int:
    try:
        detail = load_detail(args.detail)
    except UsageError as exc:
        return fail(str(exc))
    entry = {"Source": args.source, "DetailType": args.detail_type, "Detail": json.dumps(detail)}
    if args.stage:
        entry["EventBusName"] = stage_names(args.stage)["bus"]
        response = client("events").put_events(Entries=[entry])
        print(dumps(response["Entries"][0]) if args.json else f"sent: {response['Entries'][0]}")
        return 1 if response.get("FailedEntryCount") else 0
    runtime = LocalRuntime(args.state_dir, as_of=args.as_of,
                           on_hop=None if args.json else (lambda hop: print(hop_line(hop), flush=True)))
    (envelope,) = runtime.put_events([{**entry, "EventBusName": runtime.template.bus_name}])
    rules = runtime.matching_rules(envelope)
    if not args.json:
        print(f"event {envelope['id']} matched {', '.join(rules) or 'no rule'}", file=sys.stderr)
    hops = runtime.run_until_quiet()
    if args.json:
        print(dumps({"event_id": envelope["id"], "rules": rules,
                     "deliveries": [{"function": h.function, "rule": h.rule, "status": h.status,
                                     "error": h.error, "published": h.published} for h in hops]}))
    return 0 if all(h.error is None for h in hops) else 1
