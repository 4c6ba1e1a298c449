"""The messages a user reads: the daily report after a completed workflow, and error notifications.

Plain text (an SNS email subscription shows it as is). Subjects are ASCII, one line, at most 100
characters, as SNS requires (formatting.py).

Nothing here builds an event model: the daily report reads the record's events through
`RecordedEvents` (validated on the terminal path, recorded_events.py), and an error notification reads the
ErrorNotificationRequested the middleware validated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from services.orchestrator.messages.formatting import (
    money,
    percent,
    ratio,
    signed_money,
    subject_line,
    weights_text,
    when,
)
from services.orchestrator.workflow_record import EquitySnapshot, Notification, WorkflowRecord

if TYPE_CHECKING:
    from services.orchestrator.recorded_events import RecordedEvents
    from shared.events import ErrorNotificationRequested, OrderResult, WorkflowCompleted

MAX_EXPLANATION_LINES = 40
"""Per strategy in the daily report; the workflow record keeps them all."""
STEP_ORDER = ("signals", "planned", "executed", "completed")


# ------------------------------------------------------------------ daily report


def daily_report(record: WorkflowRecord, events: RecordedEvents, completed: WorkflowCompleted,
                 previous: EquitySnapshot | None) -> Notification:
    summary = completed.summary
    day = completed.trading_date.isoformat() if completed.trading_date else "unknown date"
    after = summary.equity_after
    headline = f"equity {money(after)}" if after is not None else "equity n/a"
    if after is not None and previous is not None:
        headline += f" ({percent(ratio(after - previous.equity_after, previous.equity_after), signed=True)})"
    subject = subject_line(f"Alchemiser [{record.trading_mode}] {day}: completed, {summary.orders_filled} filled, "
                           f"{headline}")
    lines = [
        f"The Alchemiser - daily report for {day} ({record.trading_mode})",
        f"Workflow {record.correlation_id} completed at {when(completed.completed_at)}.",
        "",
        *_equity_section(completed, previous),
        "",
        *_strategy_section(events),
        "",
        *_plan_section(events),
        "",
        *_limits_section(events),
        *_orders_section(events),
        "",
        "STEP TIMES (seconds since the previous step)",
        "  " + (", ".join(f"{step} {summary.step_seconds[step]:.1f} s" for step in STEP_ORDER
                          if step in summary.step_seconds) or "n/a (earlier steps not seen)"),
        "",
        f"Event {completed.event_id}",
    ]
    return Notification(key=f"report:{completed.event_id}", kind="report", subject=subject,
                        message="\n".join(lines) + "\n")


def _equity_section(completed: WorkflowCompleted, previous: EquitySnapshot | None) -> list[str]:
    before, after = completed.summary.equity_before, completed.summary.equity_after
    lines = ["EQUITY AND P&L", f"  before trading   {money(before)}"]
    if after is None:
        return [*lines, "  after trading    n/a (execution reported no account)"]
    trading = ""
    if before is not None:
        trading = f"  ({signed_money(after - before)}, {percent(ratio(after - before, before), signed=True)} "\
                  "while trading)"
    lines.append(f"  after trading    {money(after)}{trading}")
    if previous is None:
        lines.append("  day P&L          n/a (no earlier completed workflow recorded)")
    else:
        change = after - previous.equity_after
        lines.append(f"  day P&L          {signed_money(change)} "
                     f"({percent(ratio(change, previous.equity_after), signed=True)}) since "
                     f"{money(previous.equity_after)} on {previous.trading_date.isoformat()}")
    return lines


def _strategy_section(events: RecordedEvents) -> list[str]:
    lines = ["WHAT THE STRATEGIES CHOSE, AND WHY"]
    signals = events.signals
    if signals is None:
        return [*lines, "  not recorded (SignalGenerated was not seen for this workflow)"]
    for strategy in signals.strategies:
        lines.append(f"  {strategy.name} ({percent(strategy.allocation)} of the portfolio) -> "
                     f"{weights_text(strategy.weights)}")
        lines.extend(f"      {line}" for line in strategy.explanation[:MAX_EXPLANATION_LINES])
        if len(strategy.explanation) > MAX_EXPLANATION_LINES:
            lines.append(f"      ... {len(strategy.explanation) - MAX_EXPLANATION_LINES} more line(s)")
    lines.append(f"  Net target: {weights_text(signals.target_weights)} (data as of {signals.data_as_of.isoformat()})")
    return lines


def _plan_section(events: RecordedEvents) -> list[str]:
    plan = events.plan
    if plan is None:
        return ["PLAN", "  not recorded (RebalancePlanned was not seen for this workflow)"]
    lines = [f"PLAN {plan.plan_id}", f"  {plan.summary}"]
    if plan.scaling is not None:
        lines.append(f"  buys scaled by {plan.scaling.factor}: {plan.scaling.reason}")
    lines.extend(f"  skipped {s.side} {s.symbol} {money(s.estimated_value)}: {s.reason}" for s in plan.skipped)
    return lines


def _limits_section(events: RecordedEvents) -> list[str]:
    """The user's limits that shaped the day (a position clipped to the cap), each with where to change it."""
    execution = events.execution
    bindings = execution.limit_bindings if execution is not None else ()
    if not bindings:
        return []
    return ["LIMITS THAT BOUND", *(f"  {b.line()}" for b in bindings), ""]


def _order_line(order: OrderResult) -> str:
    asked = (f"{order.requested_qty} sh" if order.requested_qty is not None
             else f"{money(order.requested_notional)} notional")
    fill = (f"filled {order.filled_qty} @ {money(order.avg_fill_price)}" if order.avg_fill_price is not None
            else "nothing filled")
    error = f" - {order.error}" if order.error else ""
    return f"  {order.side.upper():<4} {order.symbol:<6} {asked:<22} {fill:<32} {order.status}{error}"


def placed_line(at_broker: int, placed_now: int | None, adopted: int | None) -> str:
    """'5 at the broker (4 placed now, 1 adopted)': what the broker holds, and who placed it."""
    if placed_now is None or adopted is None:
        return f"{at_broker} at the broker"
    return f"{at_broker} at the broker ({placed_now} placed now, {adopted} adopted from an earlier run)"


def _orders_section(events: RecordedEvents) -> list[str]:
    execution = events.execution
    lines = ["ORDERS AND FILLS"]
    if execution is None:
        return [*lines, "  not recorded"]
    lines.extend(_order_line(order) for order in execution.orders)
    if not execution.orders:
        lines.append("  no orders: the account was already at its target")
    t = execution.totals
    placed = placed_line(t.orders_at_broker, t.orders_placed_now, t.orders_adopted)
    lines.append(f"  {placed}, {t.orders_filled} filled, {t.orders_partially_filled} partially filled, "
                 f"{t.orders_failed} failed, {t.orders_skipped} skipped; turnover {money(t.turnover)} "
                 f"(buys {money(t.buy_value)}, sells {money(t.sell_value)})")
    if execution.status != "executed":
        lines.append(f"  execution status: {execution.status}" + (f" ({execution.reason})" if execution.reason else ""))
    return lines


# ------------------------------------------------------------------ error notifications


def error_notification(event: ErrorNotificationRequested) -> Notification:
    mode = event.trading_mode or "n/a"
    subject = subject_line(f"Alchemiser [{mode}] {event.severity.upper()}: {event.error_type} "
                           f"in {event.correlation_id}")
    lines = [
        f"The Alchemiser - {event.severity} notification",
        "",
        f"Workflow:      {event.correlation_id}",
        f"Error:         {event.error_type}",
        f"Step:          {event.step or 'n/a'}",
        f"Trading mode:  {mode}",
        f"When:          {when(event.occurred_at)}",
        "",
        "What happened:",
        *(f"  {line}" for line in event.error_message.splitlines() or [""]),
        *_limit_advice(event.error_message),
        *_details(event.details.items()),
        "",
        f"Event {event.event_id}",
    ]
    return Notification(key=f"error:{event.event_id}", kind="error", subject=subject, message="\n".join(lines) + "\n")


def _limit_advice(message: str) -> list[str]:
    """A refusal by one of the user's limits: a retry with the same limits is refused the same way."""
    from shared.limits.rules import LIMIT_BOUND

    if LIMIT_BOUND not in message:
        return []
    return ["", "What to do:", "  A limit you set refused the plan (above: which limit, its numbers, where it is set).",
            "  A retry with the same limits is refused the same way: change the limit first, then start a new run."]


def _details(items: Iterable[tuple[str, str]]) -> list[str]:
    rows = [f"  {key}: {value}" for key, value in sorted(items)]
    return ["", "Details:", *rows] if rows else []
