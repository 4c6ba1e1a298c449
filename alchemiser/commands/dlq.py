"""`alchemiser dlq list|show|redrive|delete|purge`: the dead-letter queue, readable and redrivable.

Locally the DLQ is `<state>/dlq/messages.jsonl`, written by the local runtime. With `--stage` it is
the SQS queue `alchemiser-event-dlq-<stage>`: messages from rule targets (the event, with RULE_ARN /
TARGET_ARN attributes), from Lambda's on-failure destination (`requestPayload`) or from the
Scheduler. Reading never hides messages (visibility timeout 0), so `show ID` right after `list`
finds them. Redrive sends each message back to the function it failed in, then deletes it; locally
it runs with the broker and data the message's workflow ran with (see runconfig.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from alchemiser.commands.aws import AwsProblem, aws_errors, client, stage_names
from alchemiser.commands.common import (
    UsageError,
    add_state_dir,
    add_wait,
    dumps,
    fail,
    locked,
    stage_arg,
)
from alchemiser.commands.runconfig import add_config_flags
from alchemiser.text import say

ACTIONS = ("list", "show", "redrive", "delete", "purge")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS,
                        help="list the messages; show, redrive or delete some (by id); purge them all")
    parser.add_argument("ids", nargs="*", metavar="MESSAGE_ID", help="the messages to show, redrive or delete")
    parser.add_argument("--all", action="store_true", help="redrive (or delete) every message")
    parser.add_argument("--yes", "-y", action="store_true", help="delete or purge without asking for confirmation")
    parser.add_argument("--stage", type=stage_arg,
                        help="the deployed stage's SQS dead-letter queue instead of the local one")
    add_config_flags(parser)
    add_state_dir(parser)
    add_wait(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def describe(message: dict[str, Any]) -> dict[str, Any]:
    event = message.get("event") or {}
    detail = event.get("detail") if isinstance(event, dict) and isinstance(event.get("detail"), dict) else {}
    return {"message_id": message["message_id"], "failed_at": message.get("failed_at"),
            "detail_type": event.get("detail-type") if isinstance(event, dict) else None,
            "correlation_id": (detail or {}).get("correlation_id"),
            "rule": message.get("rule"), "target": message.get("target"), "attempts": message.get("attempts"),
            "error": message.get("error")}


def run(args: argparse.Namespace) -> int:
    if args.action in ("show", "redrive", "delete") and not args.ids and not (args.all and args.action != "show"):
        hint = " or --all" if args.action != "show" else ""
        return fail(f"dlq {args.action} needs MESSAGE_ID(s){hint}; `alchemiser dlq list` shows the ids")
    try:
        if args.stage:
            with aws_errors(args.stage):
                return _run(args)
        if args.action in ("list", "show"):
            return _run(args)
        return locked(args.state_dir, lambda: _run(args), wait=args.wait)
    except AwsProblem as exc:
        return fail(str(exc), code=1)
    except UsageError as exc:
        return fail(str(exc))


def _run(args: argparse.Namespace) -> int:
    messages = _aws_messages(args.stage) if args.stage else _local_messages(args)
    wanted = set(args.ids)
    everything = args.action in ("list", "purge") or args.all
    chosen = messages if everything else [m for m in messages if m["message_id"] in wanted]
    missing = sorted(wanted - {m["message_id"] for m in messages})
    if missing and not everything:
        return fail(f"no such message: {', '.join(missing)} (see `alchemiser dlq list`)", code=1)
    if args.action == "list":
        rows = [describe(m) for m in chosen]
        if args.json:
            print(dumps(rows))
        else:
            print(f"{len(rows)} message(s) in the dead-letter queue")
            for r in rows:
                say(f"  {r['message_id']}  {r['failed_at']}  {r['detail_type']}  -> {r['target']}"
                    f"  ({r['attempts']} attempts): {r['error']}")
        return 0
    if args.action == "show":
        print(dumps(chosen) if args.json else "\n\n".join(pretty(m) for m in chosen))
        return 0
    if args.action in ("delete", "purge"):
        return _delete(args, chosen)
    return _redrive_aws(args.stage, chosen) if args.stage else _redrive_local(args, chosen)


def pretty(message: dict[str, Any]) -> str:
    """One message for people: where it failed and why, then the event, indented."""
    row = describe(message)
    event = message.get("event")
    if isinstance(event, dict) and isinstance(event.get("detail"), str):
        with contextlib.suppress(json.JSONDecodeError):
            event = {**event, "detail": json.loads(event["detail"])}
    lines = [f"message {row['message_id']}",
             f"  failed at:   {row['failed_at'] or '-'}",
             f"  event:       {row['detail_type']} (workflow {row['correlation_id'] or '-'})",
             f"  rule:        {row['rule'] or '-'}",
             f"  target:      {row['target'] or '-'} ({row['attempts']} attempts)",
             "  error:"]
    lines += [f"    {line}" for line in str(row["error"] or "-").splitlines()]
    lines.append("  event JSON:")
    lines += [f"    {line}" for line in json.dumps(event, indent=2, sort_keys=True).splitlines()]
    return "\n".join(lines)


def _confirm(question: str, args: argparse.Namespace) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print(f"{question} - not confirmed (no terminal); pass --yes", file=sys.stderr)
        return False
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def _delete(args: argparse.Namespace, messages: list[dict[str, Any]]) -> int:
    where = f"stage {args.stage}'s dead-letter queue" if args.stage else "the local dead-letter queue"
    if not messages:
        print(f"nothing to delete in {where}")
        return 0
    if not _confirm(f"delete {len(messages)} message(s) from {where}? They cannot be redriven afterwards.", args):
        return 1
    if args.stage:
        sqs, url = client("sqs", args.stage), _queue_url(args.stage)
        if args.action == "purge":
            sqs.purge_queue(QueueUrl=url)
        else:
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["receipt"])
    else:
        from alchemiser.local.storage import DeadLetterQueue

        DeadLetterQueue(args.state_dir).remove({m["message_id"] for m in messages})
    print(f"deleted {len(messages)} message(s) from {where}")
    return 0


def _local_messages(args: argparse.Namespace) -> list[dict[str, Any]]:
    from alchemiser.local.storage import DeadLetterQueue

    dlq = DeadLetterQueue(args.state_dir)
    messages = dlq.messages()
    for problem in dlq.problems:
        say(f"alchemiser: {problem}", err=True)
    return messages


def _redrive_local(args: argparse.Namespace, messages: list[dict[str, Any]]) -> int:
    from alchemiser.commands import runconfig
    from alchemiser.local.runtime import LocalRuntime
    from alchemiser.local.statedir import recover

    broker, data = runconfig.resolve(args.state_dir, runconfig.correlation_ids(m.get("event") or {} for m in messages),
                                     args.broker, args.data)
    runconfig.announce(broker, data, json_mode=args.json)
    runtime = LocalRuntime(args.state_dir, env=runconfig.runtime_env(broker, data))
    recover(runtime)
    runtime.run_until_quiet()
    ok = 0
    for message in messages:
        spec = runtime.template.functions.get(message["target"])
        if spec is None:
            print(f"{message['message_id']}: target {message['target']} is not in the template; kept")
            continue
        target = _rule_target(runtime, message.get("rule"), spec.logical_id)
        runtime.dlq.remove({message["message_id"]})  # a failure below writes a fresh DLQ message
        hop = runtime.deliver(runtime.last_attempt(message.get("rule"), target, message["event"]))
        hops = [hop, *runtime.run_until_quiet()]
        ok += hop.error is None
        say(f"{message['message_id']}: {hop.error or hop.status}"
              + (f"; then {len(hops) - 1} more deliveries" if len(hops) > 1 else ""))
    print(f"redrove {len(messages)} message(s): {ok} succeeded")
    return 0 if ok == len(messages) else 1


def _rule_target(runtime: Any, rule: str | None, function: str) -> Any:
    from alchemiser.local.template import TargetSpec

    for spec in runtime.template.rules:
        if spec.logical_id == rule:
            for target in spec.targets:
                if target.function == function:
                    return target
    return TargetSpec(function, 0, 3600, None)


def _queue_url(stage: str) -> str:
    url: str = client("sqs", stage).get_queue_url(QueueName=stage_names(stage)["dlq"])["QueueUrl"]
    return url


def _aws_messages(stage: str) -> list[dict[str, Any]]:
    """Every message, without hiding any: received with a visibility timeout of 0."""
    sqs, url = client("sqs", stage), _queue_url(stage)
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                    MessageAttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
        fresh = [raw for raw in batch if raw["MessageId"] not in seen]
        if not fresh:
            break
        for raw in fresh:
            seen[raw["MessageId"]] = _from_sqs(raw)
    return list(seen.values())


def _from_sqs(raw: dict[str, Any]) -> dict[str, Any]:
    attributes = {k: v.get("StringValue") for k, v in raw.get("MessageAttributes", {}).items()}
    try:
        body = json.loads(raw["Body"])
    except json.JSONDecodeError:
        body = raw["Body"]
    if isinstance(body, dict) and "requestPayload" in body:  # Lambda on-failure destination record
        context = body.get("requestContext", {})
        return {"message_id": raw["MessageId"], "receipt": raw["ReceiptHandle"], "event": body["requestPayload"],
                "target": context.get("functionArn", "").rsplit(":", 1)[0], "rule": None,
                "attempts": context.get("approximateInvokeCount"), "failed_at": body.get("timestamp"),
                "error": (body.get("responsePayload") or {}).get("errorMessage", context.get("condition"))}
    return {"message_id": raw["MessageId"], "receipt": raw["ReceiptHandle"], "event": body,
            "target": attributes.get("TARGET_ARN"), "rule": attributes.get("RULE_ARN"),
            "attempts": attributes.get("RETRY_ATTEMPTS"), "failed_at": None,
            "error": f"{attributes.get('ERROR_CODE')}: {attributes.get('ERROR_MESSAGE')}"}


def _redrive_aws(stage: str, messages: list[dict[str, Any]]) -> int:
    lam, sqs, url = client("lambda", stage), client("sqs", stage), _queue_url(stage)
    ok = 0
    for message in messages:
        if not message.get("target"):
            print(f"{message['message_id']}: no target recorded; kept")
            continue
        response = lam.invoke(FunctionName=message["target"], InvocationType="Event",
                              Payload=json.dumps(message["event"]).encode())
        if response.get("StatusCode") == 202:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["receipt"])
            ok += 1
        print(f"{message['message_id']}: invoke {message['target']} -> {response.get('StatusCode')}")
    print(f"redrove {len(messages)} message(s): {ok} accepted")
    return 0 if ok == len(messages) else 1
