"""The end-of-day summary `alchemiser run` prints: weights and why, the plan, fills, the portfolio."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alchemiser.console import Cell, Column, styled, table
from alchemiser.local.day import DayResult
from alchemiser.local.runtime import Hop


def money(value: Any) -> str:
    return f"${Decimal(str(value)):,.2f}"


def pct(value: Any) -> str:
    return f"{Decimal(str(value)) * 100:.2f}%"


def qty(value: Any) -> str:
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def hop_line(hop: Hop) -> str:
    via = f" via {hop.rule}" if hop.rule else ""
    retry = f" (retry {hop.attempt})" if hop.attempt else ""
    replay = " [replay]" if hop.replay else ""
    outcome = hop.error or hop.status
    published = f" -> {', '.join(hop.published)}" if hop.published else ""
    return f"  {hop.seq:>3}  {hop.function:<12} <- {hop.trigger}{via}{retry}{replay}: {outcome}{published}" \
           f"  [{hop.seconds * 1000:.0f} ms]"


def relative_paths(text: str) -> str:
    """Absolute paths under the working directory shown relative to it (as a user typed them)."""
    import os

    cwd = os.getcwd().rstrip("/") + "/"
    return text.replace(cwd, "") if cwd != "/" else text


def _signal_section(signal: dict[str, Any]) -> list[str]:
    rows = []
    for symbol, weight in sorted(signal["target_weights"].items(), key=lambda kv: -Decimal(kv[1])):
        parts = [f"{s['name']} {pct(Decimal(s['allocation']) * Decimal(s['weights'][symbol]))}"
                 for s in signal["strategies"] if symbol in s["weights"]]
        rows.append([symbol, pct(weight), ", ".join(parts)])
    lines = [f"Target weights (data as of {signal['data_as_of']})",
             *table([Column("Symbol", style="bold"), Column("Weight", right=True), Column("From")], rows)]
    lines.append("Why")
    for strategy in signal["strategies"]:
        lines.append(f"  {strategy['name']} ({pct(strategy['allocation'])} of the portfolio):")
        lines += [f"    {relative_paths(line)}" for line in strategy["explanation"]]
    return lines


def side(text: str) -> Cell:
    """BUY in green, SELL in red (on a terminal)."""
    return Cell(text.upper(), "green" if text.lower() == "buy" else "red" if text.lower() == "sell" else None)


def _plan_section(plan: dict[str, Any]) -> list[str]:
    lines = [f"Plan {plan['plan_id']}: {plan['summary']}"]
    rows: list[list[str | Cell]] = []
    for order in plan["orders"]:
        amount = f"{qty(order['qty'])} sh" if order.get("qty") is not None else f"{money(order['notional'])}"
        rows.append([side(order["side"]), order["symbol"], amount, f"~{money(order['estimated_value'])}",
                     order["reason"]])
    for skipped in plan.get("skipped", []):
        rows.append([Cell("skip", "dim"), skipped["symbol"], skipped["side"],
                     f"~{money(skipped['estimated_value'])}", skipped["reason"]])
    if rows:
        lines += table([Column("Side"), Column("Symbol", style="bold"), Column("Amount", right=True),
                        Column("Value", right=True), Column("Why")], rows)
    if plan.get("scaling"):
        lines.append(f"  buys scaled by {plan['scaling']['factor']}: {plan['scaling']['reason']}")
    if not plan["orders"]:
        lines.append("  nothing to trade: already balanced")
    return lines


def _orders_section(trade: dict[str, Any]) -> list[str]:
    status = "succeeded" if trade["success"] else "did not succeed"
    reason = f": {trade['reason']}" if trade.get("reason") else ""
    lines = [f"Orders ({trade['status']}, {status}{reason})"]
    rows: list[list[str | Cell]] = [
        [side(order["side"]), order["symbol"], qty(order["filled_qty"]),
         money(order["avg_fill_price"]) if order.get("avg_fill_price") else "-",
         Cell(order["status"], "green" if order["status"] == "filled" else "yellow"), order.get("error") or ""]
        for order in trade["orders"]]
    if rows:
        lines += table([Column("Side"), Column("Symbol", style="bold"), Column("Filled", right=True),
                        Column("Price", right=True), Column("Status"), Column("")], rows)
    totals = trade["totals"]
    lines.append(f"  {placed(totals)}, filled {totals['orders_filled']}, failed {totals['orders_failed']}"
                 f"{unknown(totals)}; turnover {money(totals['turnover'])}")
    return lines


def placed(totals: dict[str, Any]) -> str:
    """'at the broker 5 (placed now 4, adopted 1)': what the broker holds, split by who placed it."""
    at_broker = totals.get("orders_at_broker", totals.get("orders_placed", 0))
    now, adopted = totals.get("orders_placed_now"), totals.get("orders_adopted")
    if now is None or adopted is None:
        return f"at the broker {at_broker}"
    return f"at the broker {at_broker} (placed now {now}, adopted {adopted})"


def unknown(totals: dict[str, Any]) -> str:
    count = int(totals.get("orders_unknown") or 0)
    return f", outcome unknown {count} (the orchestrator settles them from the broker's book)" if count else ""


def _portfolio_section(plan: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    if plan is None and after is None:
        return []
    before_account = plan["account"] if plan else {}
    rows = [[key, money(before_account[key]) if key in before_account else "-",
             money(after[key]) if after and key in after else "-"] for key in ("equity", "cash")]
    before_pos = {p["symbol"]: p for p in before_account.get("positions", [])}
    after_pos = {p["symbol"]: p for p in (after or {}).get("positions", [])}
    for symbol in sorted(set(before_pos) | set(after_pos)):
        rows.append([symbol, f"{qty(before_pos[symbol]['qty'])} sh" if symbol in before_pos else "-",
                     f"{qty(after_pos[symbol]['qty'])} sh" if symbol in after_pos else "-"])
    return ["Portfolio", *table([Column(""), Column("Before", right=True), Column("After", right=True)], rows)]


def limit_bindings(result: DayResult) -> list[dict[str, Any]]:
    """The limits that bound the day's plan: the refusal's, else the clipping's (TradeExecuted carries both)."""
    trade = result.last("TradeExecuted")
    if trade is not None:
        return list(trade.get("limit_bindings", []))
    plan = result.last("RebalancePlanned")
    return list(plan.get("limit_bindings", [])) if plan else []


def refused_by_limits(result: DayResult) -> list[dict[str, Any]]:
    return [b for b in limit_bindings(result) if b.get("action") == "refused"]


def _suggested(binding: dict[str, Any]) -> str | None:
    """A flag value that lets the refused plan through (the limit's own measure, rounded up)."""
    from decimal import ROUND_UP

    from shared.limits.specs import SPEC_OF

    key, values = binding["limit"], binding.get("values", {})
    spec = SPEC_OF.get(key)
    if spec is None:
        return None
    if key == "max_position_weight":
        return f"{spec.flag} 1"
    if key == "max_orders_per_run" and "orders" in values:
        return f"{spec.flag} {values['orders']}"
    measure = values.get("fraction") or values.get("move")
    if measure is None:
        return None
    return f"{spec.flag} {Decimal(measure).quantize(Decimal('0.01'), ROUND_UP)}"


def retry_after_limits(result: DayResult) -> str | None:
    """For a day a limit refused: the retry command with the refused limits raised (a bare retry would be
    refused the same way); None for any other outcome."""
    from shared.limits.rules import LIMIT_BOUND

    if not result.retry_command:
        return None
    refused = refused_by_limits(result)
    if not refused and LIMIT_BOUND not in (result.reason or ""):  # a rerun of the refused day publishes nothing
        return None
    flags = [f for f in (_suggested(b) for b in refused) if f]
    return " ".join([result.retry_command, *dict.fromkeys(flags)])


def _limits_section(result: DayResult) -> list[str]:
    bindings = limit_bindings(result)
    if not bindings:
        return []
    lines = ["Limits"]
    for b in bindings:
        verb = "refused the plan: nothing placed" if b.get("action") == "refused" else "clipped the plan"
        lines.append(f"  {b['limit']} {verb}: {b['message']}")
        if b.get("change"):
            lines.append(f"    {b['change']}")
    return lines


def render(result: DayResult, after: dict[str, Any] | None) -> str:
    lines: list[str] = []
    signal, plan, trade = result.last("SignalGenerated"), result.last("RebalancePlanned"), result.last("TradeExecuted")
    for section in (_signal_section(signal) if signal else [], _plan_section(plan) if plan else [],
                    _orders_section(trade) if trade else [], _limits_section(result), _portfolio_section(plan, after)):
        if section:
            lines += ["", *section]
    lines += ["", _status_line(result)]
    return "\n".join(lines)


def _status_line(result: DayResult) -> str:
    workflow = f"Workflow {result.correlation_id}" if result.correlation_id else "Workflow"
    lines = []
    if result.recovered:
        r = result.recovered
        lines.append(f"Recovered what a killed run left: {r.outbox_events} unpublished event(s) put on the bus, "
                     f"{r.released} unfinished handler record(s) released"
                     + (f", {r.torn} torn outbox line(s) skipped" if r.torn else ""))
    if result.resumed:
        split = result.placed_now_and_adopted
        orders = (f"; orders at the broker {result.orders_at_broker}: placed now {split[0]}, adopted (already at "
                  f"the broker) {split[1]}") if split else ""
        lines.append(f"{workflow}: resumed ({len(result.redelivered)} archived event(s) redelivered){orders}")
    completed = result.last("WorkflowCompleted")
    if result.status == "completed" and completed is not None:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in completed["summary"]["step_seconds"].items())
        lines.append(f"{workflow}: {styled('completed', 'green')} ({steps})")
    elif result.status == "duplicate":
        lines.append(f"{workflow}: {styled('already completed', 'green')} - nothing to do")
    else:
        extra = f"; {result.dead_lettered} delivery(ies) dead-lettered: alchemiser dlq list" \
            if result.dead_lettered else ""
        style = "bold red" if result.status in ("failed", "incomplete", "ended") else "yellow"
        lines.append(f"{workflow}: {styled(result.status, style)} - {result.reason}{extra}")
    raised = retry_after_limits(result)
    if raised:
        lines.append("A retry with the same limits is refused the same way. Change the limit (where: above), "
                     f"then: {raised}")
    elif result.retry_command:
        lines.append(f"To start a new, fully re-gated run of this day: {result.retry_command}")
    return "\n".join(lines)
