"""Indicators of a portfolio's daily returns: how a group (any block a filter ranks or inverse
volatility weights) is scored.

A group has no price, only the returns its holdings earn (portfolio.py). Each indicator here is
the ticker indicator of the same name (indicators.py) applied to the group's NAV, the growth of 1
by those returns, written in terms of the returns of its window alone, so that a value is the
same float however much history came before it (windows.py): the NAV's level never enters.

- cumulative-return n: 100 * (prod of (1 + r) over the last n returns - 1)
- moving-average-return n: 100 * mean of the last n returns
- stdev-return n: 100 * population standard deviation of the last n returns
- max-drawdown n: over the last n NAV values, i.e. the last n - 1 returns
- rsi n: Wilder's RSI of the NAV's changes NAV[j-1] * r[j]: gains and losses are scaled by the
  NAV's growth since the start of the span, which the ratio gains / (gains + losses) cancels.
"""

from __future__ import annotations

import numpy as np

from services.strategy.language.windows import (
    FloatArray,
    Parts,
    multiply,
    nans,
    rolling_mean,
    rolling_std,
    runs,
    sliding,
    smooth,
    warmup,
)


def cumulative_return(r: FloatArray, n: int) -> FloatArray:
    out = nans(r.shape[0])
    if r.shape[0] >= n:
        (growth,) = sliding((1.0 + r,), n, multiply)
        out[n - 1 :] = (growth - 1.0) * 100.0
    return out


def moving_average_return(r: FloatArray, n: int) -> FloatArray:
    return rolling_mean(r, n) * 100.0


def stdev_return(r: FloatArray, n: int) -> FloatArray:
    return rolling_std(r, n) * 100.0


def _merge_drawdowns(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    """(growth, peak, trough, max drawdown) of run a then run b, values relative to a's start."""
    growth_a, peak_a, trough_a, drawdown_a = a
    growth_b, peak_b, trough_b, drawdown_b = b
    cross = 1.0 - growth_a * trough_b / peak_a
    return (growth_a * growth_b, np.maximum(peak_a, growth_a * peak_b), np.minimum(trough_a, growth_a * trough_b),
            np.maximum(np.maximum(drawdown_a, drawdown_b), cross))


def max_drawdown(r: FloatArray, n: int) -> FloatArray:
    """Largest fall from a peak within the last n NAV values (n - 1 returns), in percent."""
    out = nans(r.shape[0])
    if n == 1:
        out[~np.isnan(r)] = 0.0
        return out
    m = n - 1
    if r.shape[0] >= m:
        growth = 1.0 + r
        leaf = (growth, np.maximum(growth, 1.0), np.minimum(growth, 1.0), np.maximum(-r, 0.0))
        out[m - 1 :] = sliding(leaf, m, _merge_drawdowns)[3] * 100.0
    return out


def _seed_sums(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    return a[0] * b[0], a[1] + a[0] * b[1], a[2] + a[0] * b[2]


def _wilder(gain: FloatArray, loss: FloatArray, growth: FloatArray, n: int, beta: float, span: int) -> FloatArray:
    """Wilder's averages of the NAV's gains and losses over the last `span` changes of each day
    (seeded with the mean of the first n), as 100 * gains / (gains + losses); NaN before span - 1.

    With growth g[j] = 1 + r[j], the NAV change on day j relative to the span's start k0 is
    a[j] * x[j], a[j] = g[k0] ... g[j-1]. A block of items carries its growth A and its weighted
    sums; block b after block a is scaled by A_a, so each day's value is a `sliding` reduction."""
    out = nans(gain.shape[0])
    if gain.shape[0] < span:
        return out
    m = span - n
    ks = np.arange(span - 1, gain.shape[0])
    seed_growth, seed_gain, seed_loss = sliding((growth, gain, loss), n, _seed_sums)
    starts = ks - span + 1
    up = seed_gain[starts] / n
    down = seed_loss[starts] / n
    if m:
        def then(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
            decay = beta**count_b
            return a[0] * b[0], a[1] * decay + a[0] * b[1], a[2] * decay + a[0] * b[2]

        alpha = 1.0 - beta
        _, tail_gain, tail_loss = sliding((growth, alpha * gain, alpha * loss), m, then)
        scale = seed_growth[starts]
        up = beta**m * up + scale * tail_gain[starts + n]
        down = beta**m * down + scale * tail_loss[starts + n]
    total = up + down
    with np.errstate(invalid="ignore", divide="ignore"):
        out[span - 1 :] = np.where(total > 0.0, 100.0 * up / total, 50.0)
    return out


def rsi(r: FloatArray, n: int) -> FloatArray:
    """RSI of the NAV: over each run of defined returns, seeded at the run's start until the run
    holds n + warm-up returns, then over that span alone (as the ticker RSI, indicators.py)."""
    out = nans(r.shape[0])
    beta = (n - 1) / n
    span = n + warmup(1.0 / n)
    for start, end in runs(~np.isnan(r)):
        if end - start < n:
            continue
        x = r[start:end]
        growth = 1.0 + x
        gain, loss = np.maximum(x, 0.0), np.maximum(-x, 0.0)
        head = min(x.shape[0], span - 1)
        if head >= n:
            level = np.concatenate(([1.0], np.cumprod(growth[: head - 1])))  # NAV before each change
            up = smooth(level[n - 1 : head] * gain[n - 1 : head], float((level[:n] * gain[:n]).mean()), beta)
            down = smooth(level[n - 1 : head] * loss[n - 1 : head], float((level[:n] * loss[:n]).mean()), beta)
            total = up + down
            with np.errstate(invalid="ignore", divide="ignore"):
                out[start + n - 1 : start + head] = np.where(total > 0.0, 100.0 * up / total, 50.0)
        if x.shape[0] >= span:
            out[start + span - 1 : end] = _wilder(gain, loss, growth, n, beta, span)[span - 1 :]
    return out
