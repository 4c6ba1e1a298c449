"""`alchemiser dlq list|show|redrive`: the dead-letter queue, readable and redrivable.

Locally the DLQ is `<state>/dlq/messages.jsonl`, written by the local runtime. With `--stage` it is
the SQS queue `alchemiser-event-dlq-<stage>`: messages from rule targets (the event, with RULE_ARN /
TARGET_ARN attributes), from Lambda's on-failure destination (`requestPayload`) or from the
Scheduler. Redrive sends each message back to the function it failed in, then deletes it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from alchemiser.commands.aws import client, stage_names
from alchemiser.commands.common import add_state_dir, dumps, fail
from alchemiser.local.runtime import LocalRuntime, Pending
from alchemiser.local.template import TargetSpec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "show", "redrive"))
    parser.add_argument("ids", nargs="*", metavar="MESSAGE_ID", help="messages to show or redrive")
    parser.add_argument("--all", action="store_true", help="redrive every message")
    parser.add_argument("--stage", help="the deployed stage's SQS dead-letter queue instead of the local one")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true")


def describe(message: dict[str, Any]) -> dict[str, Any]:
    event = message.get("event") or {}
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    return {"message_id": message["message_id"], "failed_at": message.get("failed_at"),
            "detail_type": event.get("detail-type"), "correlation_id": (detail or {}).get("correlation_id"),
            "rule": message.get("rule"), "target": message.get("target"), "attempts": message.get("attempts"),
            "error": message.get("error")}


def run(args: argparse.Namespace) -> int:
    messages = _aws_messages(args.stage) if args.stage else _local_messages(args)
    wanted = set(args.ids)
    chosen = messages if (args.action == "list" or args.all) else [m for m in messages if m["message_id"] in wanted]
    if args.action in ("show", "redrive") and not chosen:
        why = "no such message (see `alchemiser dlq list`)" if args.ids or args.all else "give MESSAGE_ID or --all"
        return fail(why, code=1)
    if args.action == "list":
        rows = [describe(m) for m in chosen]
        if args.json:
            print(dumps(rows))
        else:
            print(f"{len(rows)} message(s) in the dead-letter queue")
            for r in rows:
                print(f"  {r['message_id']}  {r['failed_at']}  {r['detail_type']}  -> {r['target']}"
                      f"  ({r['attempts']} attempts): {r['error']}")
        return 0
    if args.action == "show":
        print(dumps(chosen))
        return 0
    return _redrive_aws(args.stage, chosen) if args.stage else _redrive_local(args, chosen)


def _local_messages(args: argparse.Namespace) -> list[dict[str, Any]]:
    return LocalRuntime(args.state_dir).dlq.messages()


def _redrive_local(args: argparse.Namespace, messages: list[dict[str, Any]]) -> int:
    runtime = LocalRuntime(args.state_dir)
    ok = 0
    for message in messages:
        spec = runtime.template.functions.get(message["target"])
        if spec is None:
            print(f"{message['message_id']}: target {message['target']} is not in the template; kept")
            continue
        target = _rule_target(runtime, message.get("rule"), spec.logical_id)
        runtime.dlq.remove({message["message_id"]})  # a failure below writes a fresh DLQ message
        hop = runtime.deliver(Pending(message.get("rule"), target, message["event"], target.retry_attempts))
        hops = [hop, *runtime.run_until_quiet()]
        ok += hop.error is None
        print(f"{message['message_id']}: {hop.error or hop.status}"
              + (f"; then {len(hops) - 1} more deliveries" if len(hops) > 1 else ""))
    print(f"redrove {len(messages)} message(s): {ok} succeeded")
    return 0 if ok == len(messages) else 1


def _rule_target(runtime: LocalRuntime, rule: str | None, function: str) -> TargetSpec:
    for spec in runtime.template.rules:
        if spec.logical_id == rule:
            for target in spec.targets:
                if target.function == function:
                    return target
    return TargetSpec(function, 0, 3600, None)


def _queue_url(stage: str) -> str:
    url: str = client("sqs").get_queue_url(QueueName=stage_names(stage)["dlq"])["QueueUrl"]
    return url


def _aws_messages(stage: str) -> list[dict[str, Any]]:
    sqs, url = client("sqs"), _queue_url(stage)
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                    MessageAttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            break
        for raw in batch:
            seen.setdefault(raw["MessageId"], _from_sqs(raw))
    return list(seen.values())


def _from_sqs(raw: dict[str, Any]) -> dict[str, Any]:
    attributes = {k: v.get("StringValue") for k, v in raw.get("MessageAttributes", {}).items()}
    body = json.loads(raw["Body"])
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
    lam, sqs, url = client("lambda"), client("sqs"), _queue_url(stage)
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
