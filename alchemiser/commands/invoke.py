"""`alchemiser invoke FUNCTION --event FILE`: one handler, one event, like `sam local invoke`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from alchemiser.commands.common import UsageError, add_state_dir, as_of_arg, dumps, fail, read_json_file
from alchemiser.local.runtime import Hop, InvocationError, LocalRuntime
from alchemiser.text import say
from services.orchestrator.adapters.local_notifier import format_notification, new_notifications, notifications_offset
from shared.events.catalog import FUNCTIONS

OK_STATUSES = {"success", "skipped", "duplicate"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", choices=FUNCTIONS, help="the function whose handler runs")
    parser.add_argument("--event", required=True, type=Path, metavar="FILE",
                        help="the event JSON: a direct payload or an EventBridge envelope")
    parser.add_argument("--as-of", type=as_of_arg, metavar="ISO-DATETIME",
                        help="the clock the handlers see (market calendar, data as-of)")
    add_state_dir(parser)
    parser.add_argument("--follow", action="store_true",
                        help="route what the function publishes through the template's rules, until quiet")
    parser.add_argument("--json", action="store_true", help="print only the response, as JSON")


def describe_hop(hop: Hop) -> str:
    via = f" via {hop.rule}" if hop.rule else ""
    retry = f" (attempt {hop.attempt + 1})" if hop.attempt else ""
    outcome = hop.error or hop.status
    published = f" -> published {', '.join(hop.published)}" if hop.published else ""
    return f"{hop.function:<12} <- {hop.trigger}{via}{retry}: {outcome}{published} [{hop.seconds * 1000:.0f} ms]"


def run(args: argparse.Namespace) -> int:
    try:
        event = read_json_file(args.event)
    except UsageError as exc:
        return fail(str(exc))
    from alchemiser.commands.common import locked

    return locked(args.state_dir, lambda: _invoke(args, event))


def _invoke(args: argparse.Namespace, event: Any) -> int:
    quiet = args.json
    runtime = LocalRuntime(args.state_dir, as_of=args.as_of,
                           on_hop=None if quiet else (lambda hop: say(describe_hop(hop), err=True)))
    notified_from = notifications_offset(args.state_dir)
    try:
        hop, _ = runtime.invoke(args.function, event, follow=args.follow)
    except InvocationError as exc:
        return _report_error(exc.hop, args)
    response: Any = hop.response
    if args.json:
        print(dumps(response))
    else:
        print(dumps(response))
        if hop.published and not args.follow:
            print(f"published (not delivered; --follow routes them): {', '.join(hop.published)}", file=sys.stderr)
        for notification in new_notifications(args.state_dir, notified_from):
            say(format_notification(notification), err=True)
    ok = isinstance(response, dict) and response.get("status", "success") in OK_STATUSES
    return 0 if ok else 1


def _report_error(hop: Hop, args: argparse.Namespace) -> int:
    error_type, _, message = (hop.error or "Error: unknown").partition(": ")
    if args.json:
        print(dumps({"errorType": error_type, "errorMessage": message, "requestId": hop.request_id}))
    else:
        say(f"{args.function} failed: {error_type}: {message}", err=True)
        print(f"logs: {args.state_dir / 'logs' / (args.function + '.log')}", file=sys.stderr)
    return 1
