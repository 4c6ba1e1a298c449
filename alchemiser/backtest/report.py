"""The backtest's outputs: the JSON document (schema in docs/backtest.md) and the text summary."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from alchemiser.backtest import metrics
from alchemiser.backtest.engine import BacktestResult
from alchemiser.backtest.formats import num, pct
from alchemiser.backtest.simulation import BlockedDay, Simulation

LIMITS_NOT_APPLIED = (
    "the kill switch (an operator's decision, not in the history)",
    "broker rejections other than buying power and quantity held (halts, asset status changes)",
    "partial fills and orders left open (every order fills in full or is rejected)",
    "market-closed and stale-data failures (the range holds sessions only; the data is read through each day)",
)


def _floats(rows: Sequence[Any]) -> list[float]:
    return [float(row.equity) for row in rows]


def sim_returns(sim: Simulation) -> np.ndarray:
    return metrics.returns_of(_floats(sim.equity), float(sim.capital))


def benchmark_returns(result: BacktestResult) -> np.ndarray | None:
    if result.benchmark is None:
        return None
    closes = [float(c) for _, c in result.benchmark]
    return metrics.returns_of(closes[1:], closes[0]) if len(closes) > 1 else np.zeros(0)


def _aligned_benchmark(result: BacktestResult) -> np.ndarray | None:
    """The benchmark's daily returns on the portfolio's sessions (0 on the first: bought at its close)."""
    b = benchmark_returns(result)
    return None if b is None else np.concatenate([[0.0], b])


def trading_stats(sim: Simulation, sessions: int) -> dict[str, Any]:
    equity = [float(r.equity) for r in sim.equity]
    exposure = [float(r.invested) / e if e > 0 else 0.0 for r, e in zip(sim.equity, equity, strict=True)]
    mean_equity = sum(equity) / len(equity) if equity else math.nan
    traded = float(sim.traded_value)
    years = sessions / metrics.TRADING_DAYS
    filled = [f for f in sim.fills if f.rejected is None]
    return {
        "orders": len(filled),
        "rejected_orders": len(sim.fills) - len(filled),
        "traded_value": str(sim.traded_value),
        "turnover": traded / 2 / mean_equity / years if years > 0 and mean_equity > 0 else None,
        "fees": str(sim.fees),
        "slippage": str(sim.slippage),
        "average_exposure": sum(exposure) / len(exposure) if exposure else None,
        "final_equity": str(sim.equity[-1].equity) if sim.equity else str(sim.capital),
    }


def metrics_of(result: BacktestResult, sim: Simulation, rf: float) -> dict[str, Any]:
    days = [row.trade_date for row in sim.equity]
    out = metrics.summary(days, sim_returns(sim), rf_annual=rf, benchmark=_aligned_benchmark(result))
    out.update(trading_stats(sim, len(days)))
    return out


def benchmark_metrics(result: BacktestResult, rf: float) -> dict[str, Any] | None:
    b = _aligned_benchmark(result)
    if b is None or result.benchmark is None:
        return None
    days = [d for d, _ in result.benchmark]
    out = metrics.summary(days, b, rf_annual=rf)
    out["symbol"] = result.config.benchmark
    return out


def _strings(weights: dict[str, Decimal]) -> dict[str, str]:
    return {s: str(w) for s, w in sorted(weights.items())}


def order_rows(sim: Simulation) -> list[dict[str, Any]]:
    return [{
        "date": f.trade_date, "symbol": f.symbol, "side": f.side,
        "qty": str(f.qty), "notional": None if f.requested_notional is None else str(f.requested_notional),
        "requested_qty": None if f.requested_qty is None else str(f.requested_qty),
        "reference_price": str(f.reference_price), "fill_price": str(f.fill_price),
        "amount": str(f.amount), "fee": str(f.fee), "slippage": str(f.slippage),
        **({"rejected": f.rejected} if f.rejected else {}),
    } for f in sim.fills]


def limit_days(days: Sequence[BlockedDay]) -> list[dict[str, Any]]:
    return [{"trade_date": d.trade_date.isoformat(), "limit": d.limit, "message": d.message, "values": d.values}
            for d in days]


def limits_doc(result: BacktestResult) -> dict[str, Any]:
    from shared.limits.specs import SPECS

    limits = result.limits
    return {s.key: {"value": str(limits.value(s.key)), "text": limits.text(s.key), "source": limits.source(s.key)}
            for s in SPECS}


def to_json(result: BacktestResult, rf: float = 0.0) -> dict[str, Any]:
    config = result.config
    portfolio = result.portfolio
    final = float(portfolio.equity[-1].equity) if portfolio.equity else float(config.capital)
    traded = any(f.rejected is None for f in portfolio.fills)
    strategies: dict[str, Any] = {}
    for entry in config.portfolio.strategies:
        sim = result.strategies.get(entry.name)
        body: dict[str, Any] = {"file": entry.file.as_posix(), "allocation": str(entry.allocation),
                                "portfolio_traded": traded}
        if sim is not None:
            end = float(sim.equity[-1].equity) if sim.equity else float(sim.capital)
            body.update(capital=str(sim.capital), metrics=metrics_of(result, sim, rf),
                        contribution=(end - float(sim.capital)) / float(config.capital),
                        held_sessions=len(sim.held),
                        equity=[{"trade_date": r.trade_date.isoformat(), "equity": str(r.equity)}
                                for r in sim.equity])
        strategies[entry.name] = body
    doc = {
        "schema_version": 1,
        "range": {"from": result.sessions[0].isoformat(), "to": result.sessions[-1].isoformat(),
                  "sessions": len(result.sessions)},
        "capital": str(config.capital),
        "synthetic": bool(getattr(config.market_data, "synthetic", False)),
        "timing": config.timing,
        "fill_model": {"price": result.fill_basis, "slippage_bps": str(config.fills.slippage_bps),
                       "fee_per_share": str(config.fills.fee_per_share)},
        "risk_free_rate": rf,
        "not_applied": list(LIMITS_NOT_APPLIED),
        "metrics": {**metrics_of(result, portfolio, rf), "net_profit": final - float(config.capital)},
        "benchmark": benchmark_metrics(result, rf),
        "strategies": strategies,
        "equity": [{"trade_date": r.trade_date.isoformat(), "equity": str(r.equity), "cash": str(r.cash)}
                   for r in portfolio.equity],
        "benchmark_equity": None if result.benchmark is None else [
            {"trade_date": d.isoformat(), "close": str(c)} for d, c in result.benchmark],
        "allocations": [{"trade_date": t.trade_date.isoformat(), "data_date": t.data_date.isoformat(),
                         "weights": _strings(t.weights),
                         **({"strategies": {p.name: _strings(dict(p.weights)) for p in t.strategies}}
                            if len(t.strategies) > 1 else {})} for t in result.targets],
        "orders": order_rows(portfolio),
        "notes": [{"trade_date": n.trade_date.isoformat(), "note": n.text} for n in portfolio.notes],
        "limits": limits_doc(result),
        "blocked": limit_days(result.blocked),
        "clipped": limit_days(result.clipped),
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }
    return metrics.finite(doc)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------- text


ROWS: tuple[tuple[str, str, Any], ...] = (
    ("Total return", "total_return", pct),
    ("CAGR", "cagr", pct),
    ("Volatility (ann.)", "volatility", pct),
    ("Sharpe", "sharpe", num),
    ("Sortino", "sortino", num),
    ("Max drawdown", "max_drawdown", pct),
    ("Calmar", "calmar", num),
    ("Longest under water", "longest_underwater_sessions", lambda v: f"{v} sessions"),
    ("Beta", "beta", num),
    ("Correlation", "correlation", num),
)


def metric_rows(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, portfolio, benchmark) rows of the metrics table."""
    m, b = doc["metrics"], doc["benchmark"] or {}
    rows = []
    for label, key, fmt in ROWS:
        rows.append((label, fmt(m.get(key)), fmt(b[key]) if key in b else ""))
    for label, key in (("Best day", "best_day"), ("Worst day", "worst_day")):
        mine, theirs = m.get(key), b.get(key)
        rows.append((label, f"{pct(mine['return'])} ({mine['date']})" if mine else "—",
                     f"{pct(theirs['return'])} ({theirs['date']})" if theirs else ""))
    if "orders" in m:  # a backtest's trading statistics (an account's recorded equity has none)
        rows += [
            ("Orders", str(m["orders"]), ""),
            ("Turnover (per year)", pct(m["turnover"], 0), ""),
            ("Fees paid", f"${Decimal(m['fees']):,.2f}", ""),
            ("Slippage paid", f"${Decimal(m['slippage']):,.2f}", ""),
            ("Average exposure", pct(m["average_exposure"], 1), ""),
        ]
    return rows


def account_doc(points: Sequence[tuple[date, Decimal]], *, source: str, rf: float = 0.0) -> dict[str, Any]:
    """The tearsheet document for an account's recorded equity (one point per completed day): the
    first point is the starting value, the metrics are those of the days after it."""
    rows = [{"trade_date": d.isoformat(), "equity": str(e)} for d, e in points]
    doc: dict[str, Any] = {"schema_version": 1, "source": source, "equity": rows, "benchmark": None,
                           "strategies": {}, "allocations": [], "not_applied": []}
    if not points:
        return doc
    doc["capital"] = str(points[0][1])
    doc["range"] = {"from": points[0][0].isoformat(), "to": points[-1][0].isoformat(), "sessions": len(points)}
    if len(points) > 1:
        r = metrics.returns_of([float(e) for _, e in points[1:]], float(points[0][1]))
        doc["metrics"] = {**metrics.summary([d for d, _ in points[1:]], r, rf_annual=rf),
                          "final_equity": str(points[-1][1])}
    return metrics.finite(doc)  # type: ignore[no-any-return]


def stopped_kind(note: str) -> str | None:
    """"blocked" for a session whose plan a limit stopped, "refused" for one whose plan failed closed
    (engine.simulate's notes), None for any other note."""
    if "blocked" in note:
        return "blocked"
    return "refused" if "failed closed" in note else None


def stopped_sessions(doc: dict[str, Any], kind: str) -> list[tuple[date, str]]:
    """The (day, note) of every session of that kind of stop."""
    return [(date.fromisoformat(n["trade_date"]), n["note"]) for n in doc.get("notes") or []
            if stopped_kind(n["note"]) == kind]


def first_day(doc: dict[str, Any]) -> date:
    return date.fromisoformat(doc["range"]["from"])
