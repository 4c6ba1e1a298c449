"""Performance statistics of a daily equity curve (floats: these are analytics, never order amounts).

Conventions (the same as empyrical's, against which tests check every formula to 1e-9):
- daily returns r_t = E_t / E_{t-1} - 1, with E_{-1} the starting capital (so the first session's
  costs count); 252 sessions a year;
- total return = prod(1 + r) - 1; CAGR = (1 + total)^(252 / n) - 1;
- annualised volatility = std(r, ddof=1) x sqrt(252);
- Sharpe = mean(r - rf) / std(r - rf, ddof=1) x sqrt(252), rf the daily risk-free rate
  (the annual rate / 252);
- Sortino = mean(r - rf) x 252 / (sqrt(mean(min(r - rf, 0)^2)) x sqrt(252));
- max drawdown = min over t of E_t / max_{s<=t} E_s - 1 (the capital counts as the first peak);
- Calmar = CAGR / |max drawdown|;
- beta = cov(r, b) / var(b) and correlation = corr(r, b) against the benchmark's returns b;
- monthly and yearly returns compound the daily returns inside each period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

TRADING_DAYS = 252
FloatArray = npt.NDArray[np.float64]


def returns_of(equity: Sequence[float], start: float) -> FloatArray:
    values = np.asarray([start, *equity], dtype=np.float64)
    return values[1:] / values[:-1] - 1.0


def total_return(r: FloatArray) -> float:
    return float(np.prod(1.0 + r) - 1.0)


def cagr(r: FloatArray) -> float:
    if r.size == 0:
        return math.nan
    return float((1.0 + total_return(r)) ** (TRADING_DAYS / r.size) - 1.0)


def volatility(r: FloatArray) -> float:
    return float(np.std(r, ddof=1) * math.sqrt(TRADING_DAYS)) if r.size > 1 else math.nan


def sharpe(r: FloatArray, rf_daily: float = 0.0) -> float:
    if r.size < 2:
        return math.nan
    excess = r - rf_daily
    sd = np.std(excess, ddof=1)
    return float(np.mean(excess) / sd * math.sqrt(TRADING_DAYS)) if sd > 0 else math.nan


def sortino(r: FloatArray, rf_daily: float = 0.0) -> float:
    if r.size < 2:
        return math.nan
    excess = r - rf_daily
    downside = math.sqrt(float(np.mean(np.square(np.clip(excess, -np.inf, 0.0))))) * math.sqrt(TRADING_DAYS)
    if downside == 0:
        return math.inf if np.mean(excess) > 0 else math.nan
    return float(np.mean(excess) * TRADING_DAYS / downside)


def drawdowns(r: FloatArray) -> FloatArray:
    """E_t / running peak - 1 per session (the start counts as a peak)."""
    wealth = np.concatenate([[1.0], np.cumprod(1.0 + r)])
    peak = np.maximum.accumulate(wealth)
    return (wealth / peak - 1.0)[1:]


def max_drawdown(r: FloatArray) -> float:
    return float(np.min(drawdowns(r))) if r.size else 0.0


def calmar(r: FloatArray) -> float:
    mdd = max_drawdown(r)
    return cagr(r) / abs(mdd) if mdd < 0 else math.nan


def beta(r: FloatArray, b: FloatArray) -> float:
    db = b - b.mean()
    var = float(np.mean(db * db))
    return float(np.mean(db * r) / var) if var > 0 else math.nan


def correlation(r: FloatArray, b: FloatArray) -> float:
    if r.size < 2 or np.std(r) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(r, b)[0, 1])


def period_returns(days: Sequence[date], r: FloatArray, period: str) -> dict[str, float]:
    """{"2024-03": r} (monthly) or {"2024": r} (yearly): daily returns compounded in each period."""
    out: dict[str, float] = {}
    growth: dict[str, float] = {}
    for day, value in zip(days, r, strict=True):
        key = f"{day.year:04d}-{day.month:02d}" if period == "monthly" else f"{day.year:04d}"
        growth[key] = growth.get(key, 1.0) * (1.0 + float(value))
    for key, g in growth.items():
        out[key] = g - 1.0
    return out


def drawdown_facts(days: Sequence[date], r: FloatArray) -> dict[str, Any]:
    """The deepest drawdown with its peak, trough and recovery dates, and the longest time under water."""
    if r.size == 0:
        return {"max_drawdown": 0.0, "peak": None, "trough": None, "recovery": None,
                "longest_underwater_sessions": 0, "longest_underwater_days": 0,
                "longest_underwater_from": None, "longest_underwater_to": None}
    dd = drawdowns(r)
    trough = int(np.argmin(dd))
    wealth = np.cumprod(1.0 + r)
    peak_index = None  # None: the starting capital was the peak
    best = 1.0
    for i in range(trough + 1):
        if wealth[i] >= best:
            best, peak_index = float(wealth[i]), i
    recovery = None
    if dd[trough] < 0:
        after = np.nonzero(dd[trough:] >= 0)[0]
        recovery = trough + int(after[0]) if after.size else None
    # the longest run of sessions under water
    longest, start_best, end_best = 0, None, None
    run_start = None
    for i, value in enumerate(dd):
        if value < 0:
            if run_start is None:
                run_start = i
            length = i - run_start + 1
            if length > longest:
                longest, start_best, end_best = length, run_start, i
        else:
            run_start = None
    start_day = None if start_best is None else days[start_best - 1] if start_best > 0 else days[0]
    end_day = days[end_best] if end_best is not None else None
    return {
        "max_drawdown": float(dd[trough]),
        "peak": days[peak_index].isoformat() if peak_index is not None else None,
        "trough": days[trough].isoformat() if dd[trough] < 0 else None,
        "recovery": days[recovery].isoformat() if recovery is not None else None,
        "longest_underwater_sessions": longest,
        "longest_underwater_days": (end_day - start_day).days if start_day and end_day else 0,
        "longest_underwater_from": start_day.isoformat() if start_day else None,
        "longest_underwater_to": end_day.isoformat() if end_day else None,
    }


def summary(days: Sequence[date], r: FloatArray, *, rf_annual: float = 0.0,
            benchmark: FloatArray | None = None) -> dict[str, Any]:
    """Every return and risk statistic of one curve (floats; NaN where undefined)."""
    rf = rf_annual / TRADING_DAYS
    facts = drawdown_facts(days, r)
    best = int(np.argmax(r)) if r.size else None
    worst = int(np.argmin(r)) if r.size else None
    out: dict[str, Any] = {
        "total_return": total_return(r),
        "cagr": cagr(r),
        "volatility": volatility(r),
        "sharpe": sharpe(r, rf),
        "sortino": sortino(r, rf),
        **facts,
        "calmar": calmar(r),
        "best_day": {"date": days[best].isoformat(), "return": float(r[best])} if best is not None else None,
        "worst_day": {"date": days[worst].isoformat(), "return": float(r[worst])} if worst is not None else None,
        "monthly_returns": period_returns(days, r, "monthly"),
        "yearly_returns": period_returns(days, r, "yearly"),
    }
    if benchmark is not None:
        out["beta"] = beta(r, benchmark)
        out["correlation"] = correlation(r, benchmark)
    return out


def finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: undefined statistics become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value
