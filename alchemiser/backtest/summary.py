"""The backtest's text summary: the headline, the metrics beside the benchmark's, the yearly returns and each
strategy alone, as aligned tables (alchemiser/console.py); the JSON document it reads is report.to_json's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alchemiser.backtest.account_compare import comparison_lines
from alchemiser.backtest.formats import num, pct, undefined
from alchemiser.backtest.report import metric_rows, stopped_kind
from alchemiser.console import Cell, Column, styled, table
from alchemiser.text import SYNTHETIC


def limit_headline(doc: dict[str, Any]) -> list[str]:
    """"N of M sessions blocked by max_position_weight (75%)" (and clipped), with where each limit is set."""
    sessions = doc["range"]["sessions"]
    limits = doc.get("limits", {})
    lines = []
    for key, what in (("blocked", "nothing placed"), ("clipped", "positions clipped to the cap")):
        by_limit: dict[str, set[str]] = {}
        for day in doc.get(key, []):
            by_limit.setdefault(day["limit"], set()).add(day["trade_date"])
        if not by_limit:
            continue
        every = len({d for days in by_limit.values() for d in days})
        named = [(name, len(days), limits.get(name, {})) for name, days in
                 sorted(by_limit.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
        if len(named) == 1:
            (name, _, spec), = named
            lines.append(f"{every} of {sessions} sessions {key} by {name} ({spec.get('text', '?')}): {what}"
                         f" (set by {spec.get('source', '?')})")
        else:
            parts = "; ".join(f"{n} by {name} ({spec.get('text', '?')}, set by {spec.get('source', '?')})"
                              for name, n, spec in named)
            lines.append(f"{every} of {sessions} sessions {key}: {parts}: {what}")
    if doc.get("blocked"):
        first = doc["blocked"][0]
        lines.append(f"  first: {first['trade_date']}: {first['message']}; change a limit in the portfolio file's "
                     "[limits] or with a flag (`alchemiser limits` lists them)")
    return lines


def _strategies_table(doc: dict[str, Any]) -> list[str]:
    """Each strategy alone with its share: allocation, return, CAGR, Sharpe, max drawdown, contribution."""
    rows: list[list[str | Cell]] = []
    for name, s in doc["strategies"].items():
        sm = s.get("metrics")
        if sm is None:
            continue
        allocation = pct(float(s["allocation"]), 1)
        if not s.get("portfolio_traded", True):
            rows.append([name, allocation, "", "", "", "", "", "did not trade: the portfolio placed no order on any "
                         "session (limits above); its return alone would not be the account's"])
            continue
        held = s.get("held_sessions", 0)
        rows.append([name, allocation, _signed(sm["total_return"]), _signed(sm["cagr"]), num(sm["sharpe"]),
                     pct(sm["max_drawdown"]), pct(s["contribution"]),
                     f"held on the {held} sessions the portfolio was blocked" if held else ""])
    columns = [Column("Strategy", style="bold"), Column("Allocation", right=True), Column("Return", right=True),
               Column("CAGR", right=True), Column("Sharpe", right=True), Column("Max DD", right=True),
               Column("Contribution", right=True), Column("")]
    if not any(row[-1] for row in rows):  # no strategy has a note: no empty last column
        columns, rows = columns[:-1], [row[:-1] for row in rows]
    return table(columns, rows)


def _signed(value: Any) -> str | Cell:
    """A return: red when negative, green when positive (on a terminal)."""
    text = pct(value)
    if undefined(value) or value == 0:
        return text
    return Cell(text, "red" if value < 0 else "green")


def render_text(doc: dict[str, Any], portfolio_name: str) -> str:
    r, fm = doc["range"], doc["fill_model"]
    bench = doc["benchmark"]
    lines = [
        f"Backtest of {portfolio_name}: {r['from']} → {r['to']} ({r['sessions']} sessions), "
        f"${Decimal(doc['capital']):,.0f} starting capital",
        ("Each run decides at 09:35 on the previous session's closes" if doc.get("timing", "previous-close")
         == "previous-close" else "Each run decides near the close, today's latest trades as today's bar"),
        f"Fills at each session's {fm['price']}, slippage {fm['slippage_bps']} bps, fee ${fm['fee_per_share']}/share; "
        f"final equity ${Decimal(doc['metrics']['final_equity']):,.2f}",
        "",
    ]
    if r.get("data_ends"):
        lines[1:1] = [f"The data ends on {r['data_ends']}: the backtest ends there (--to picks another end)"]
    if doc.get("synthetic"):
        lines[1:1] = [styled(SYNTHETIC, "yellow")]
    headline = limit_headline(doc)
    if headline:
        lines[1:1] = headline
    columns = [Column("Metric"), Column("Portfolio", right=True)]
    if bench:
        columns.append(Column(bench["symbol"], right=True))
    lines += table(columns, [[label, mine, theirs][:len(columns)] for label, mine, theirs in metric_rows(doc)])
    m = doc["metrics"]
    if m.get("trough"):
        lines += ["", f"Deepest drawdown {pct(m['max_drawdown'])}: peak {m['peak'] or r['from']}, trough "
                      f"{m['trough']}, " + (f"recovered {m['recovery']}" if m["recovery"] else "not recovered")]
    lines += ["", "Yearly returns:"]
    bench_years = (bench or {}).get("yearly_returns", {})
    years = [[year, _signed(value), *([_signed(bench_years.get(year))] if bench else [])]
             for year, value in m["yearly_returns"].items()]
    lines += table([Column("Year"), *columns[1:]], years)
    if any(s.get("metrics") is not None for s in doc["strategies"].values()):
        lines += ["", "Per strategy (each alone with its share of the capital):"]
        lines += _strategies_table(doc)
    failed = [n for n in doc["notes"] if stopped_kind(n["note"]) == "refused"]
    if failed:
        lines += ["", f"{len(failed)} session(s) placed nothing because the plan's safety check stopped it; "
                      f"first: {failed[0]['trade_date']}: {failed[0]['note']}"]
    lines += comparison_lines(doc)
    lines += ["", "Not applied by a backtest: " + "; ".join(doc["not_applied"]) + "."]
    return "\n".join(lines) + "\n"
