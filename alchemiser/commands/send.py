"""`alchemiser send`: what the EventBridge console's "Send events" does, locally or on a stage.

Locally the event's workflow is recorded with the broker and data it is sent with (unless it already
has a run record), so a later replay or redrive uses the same ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from alchemiser.commands.aws import AwsProblem, aws_errors, client, stage_names
from alchemiser.commands.common import (
    UsageError,
    add_state_dir,
    add_wait,
    as_of_arg,
    dumps,
    fail,
    locked,
    read_json_file,
    stage_arg,
)
from alchemiser.commands.runconfig import add_config_flags
from alchemiser.text import say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="the event's source, e.g. alchemiser.strategy")
    parser.add_argument("--detail-type", required=True, help="the event's detail-type, e.g. SignalGenerated")
    parser.add_argument("--detail", required=True, type=Path, metavar="FILE",
                        help="the detail JSON (or a whole EventBridge envelope: its 'detail' is used)")
    parser.add_argument("--stage", type=stage_arg,
                        help="send to the deployed stage's bus through boto3 instead of locally")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME", help="the clock the local handlers see")
    add_config_flags(parser)
    add_state_dir(parser)
    add_wait(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


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
        try:
            with aws_errors(args.stage):
                entry["EventBusName"] = stage_names(args.stage)["bus"]
                response = client("events", args.stage).put_events(Entries=[entry])
        except AwsProblem as exc:
            return fail(str(exc), code=1)
        print(dumps(response["Entries"][0]) if args.json else f"sent: {response['Entries'][0]}")
        return 1 if response.get("FailedEntryCount") else 0
    try:
        return locked(args.state_dir, lambda: _send_locally(args, entry, detail), wait=args.wait)
    except UsageError as exc:
        return fail(str(exc))


def _send_locally(args: argparse.Namespace, entry: dict[str, str], detail: dict[str, object]) -> int:
    from alchemiser.commands import runconfig
    from alchemiser.commands.run_summary import hop_line
    from alchemiser.local.runtime import LocalRuntime
    from alchemiser.local.statedir import read_run_record, recover, write_run_record

    workflow = detail.get("correlation_id")
    if isinstance(workflow, str) and read_run_record(args.state_dir, workflow) is not None:
        broker, data = runconfig.resolve(args.state_dir, {workflow}, args.broker, args.data)
    else:
        broker, data = args.broker or "sim", args.data or "offline"
    env = runconfig.runtime_env(broker, data)
    runtime = LocalRuntime(args.state_dir, as_of=args.as_of, env=env,
                           on_hop=None if args.json else (lambda hop: say(hop_line(hop), flush=True)))
    recover(runtime)
    if isinstance(workflow, str):
        write_run_record(args.state_dir, workflow, {"broker": broker, "data": data, "sent_by": "alchemiser send"})
    dlq_before = len(runtime.dlq.messages())
    (envelope,) = runtime.put_events([{**entry, "EventBusName": runtime.template.bus_name}])
    rules = runtime.matching_rules(envelope)
    if not args.json:
        print(f"event {envelope['id']} matched {', '.join(rules) or 'no rule'}", file=sys.stderr)
    hops = runtime.run_until_quiet()
    dead = len(runtime.dlq.messages()) - dlq_before
    refused = refusals(hops)
    if args.json:
        print(dumps({"event_id": envelope["id"], "rules": rules, "dead_lettered": dead, "refused": refused,
                     "deliveries": [{"function": h.function, "rule": h.rule, "status": h.status,
                                     "error": h.error, "reason": reason_of(h), "published": h.published}
                                    for h in hops]}))
    else:
        for refusal in refused:
            say(f"{refusal['function']} refused {refusal['event']}: {refusal['reason']}", err=True)
        if dead:
            print(f"{dead} delivery(ies) dead-lettered: alchemiser dlq list", file=sys.stderr)
    return 1 if dead or refused else 0


def reason_of(hop: Any) -> str | None:
    """What the handler answered (its response's message), or None."""
    response = hop.response if isinstance(hop.response, dict) else {}
    message = response.get("message")
    return str(message) if message else None


def refusals(hops: list[Any]) -> list[dict[str, str]]:
    """Every delivery a function answered `failed`: it refused the event (hand-made, edited, stale...) or the day
    failed closed on it; the reason is the function's own answer (until now only in its log)."""
    return [{"function": h.function, "event": h.trigger, "reason": reason_of(h) or h.error or "failed"}
            for h in hops if h.status == "failed"]
