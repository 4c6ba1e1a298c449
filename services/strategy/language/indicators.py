"""Indicator math: whole-history float64 series, NaN where a value is undefined.

Every function maps a close series (ascending days, NaN before the first bar or in a gap) and a
window in trading days to a series of the same length, so one computation serves every day a
strategy asks about. A value at day t uses only closes up to t, and only the contiguous run of
valid closes ending at t. The definitions (and why) are in docs/strategy-language.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SEED_WEIGHT = 1e-6
"""Warm-up target: the seed of a recursive average keeps at most this weight (see lookback)."""


def runs(valid: BoolArray) -> list[tuple[int, int]]:
    """[start, end) of every run of True."""
    edges = np.diff(np.concatenate(([0], valid.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan)


def _window_valid(x: FloatArray, n: int) -> BoolArray:
    """True at t when x[t-n+1 .. t] are all valid."""
    ok = np.zeros(x.shape[0], dtype=np.bool_)
    if x.shape[0] >= n:
        bad = np.concatenate(([0], np.cumsum(np.isnan(x))))
        ok[n - 1 :] = (bad[n:] - bad[:-n]) == 0
    return ok


def _rolling_mean(x: FloatArray, n: int) -> FloatArray:
    """Mean of each window of n, NaN where one is missing. Summed by `_sliding`, so a value depends on
    its window's items alone, not on where the array starts (a day's window and the whole history
    give the same float: the backtest relies on it)."""
    out = _nan(x.shape[0])
    if x.shape[0] >= n:
        (sums,) = _sliding((x,), n, _add)
        out[n - 1 :] = sums / n
    return out


Parts = tuple[FloatArray, ...]


def _sliding(leaf: Parts, n: int, combine: Callable[[Parts, Parts, int, int], Parts]) -> Parts:
    """Reduce every window of n consecutive items with an associative `combine`, in O(len * log n).

    Level k holds the reduction of each run of 2^k items; a window is the combination, left to
    right, of the levels in n's binary expansion. Result i covers items i .. i+n-1.
    """
    size = leaf[0].shape[0]
    levels, width = [leaf], 1
    while 2 * width <= n:
        last = levels[-1]
        length = last[0].shape[0] - width
        levels.append(combine(tuple(a[:length] for a in last), tuple(a[width:] for a in last), width, width))
        width *= 2
    result: Parts | None = None
    offset, covered = 0, 0
    for k in range(len(levels) - 1, -1, -1):
        if n & (1 << k):
            piece = tuple(a[offset : offset + size - n + 1] for a in levels[k])
            result = piece if result is None else combine(result, piece, covered, 1 << k)
            offset += 1 << k
            covered += 1 << k
    assert result is not None
    return result


def _add(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    return (a[0] + b[0],)


def _merge_moments(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    """Chan et al.: merge (mean, sum of squared deviations) of two adjacent runs."""
    delta = b[0] - a[0]
    total = count_a + count_b
    return a[0] + delta * (count_b / total), a[1] + b[1] + delta * delta * (count_a * count_b / total)


def _rolling_std(x: FloatArray, n: int) -> FloatArray:
    """Population standard deviation (divide by n), merged pairwise for numerical stability."""
    out = _nan(x.shape[0])
    if x.shape[0] >= n:
        _, squares = _sliding((x, x * 0.0), n, _merge_moments)
        out[n - 1 :] = np.sqrt(np.maximum(squares, 0.0) / n)
    return out


def _merge_drawdowns(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    """(peak, trough, max drawdown) of run a followed by run b."""
    return np.maximum(a[0], b[0]), np.minimum(a[1], b[1]), np.maximum(np.maximum(a[2], b[2]), 1.0 - b[1] / a[0])


def smooth(x: FloatArray, seed: float, beta: float) -> FloatArray:
    """y[0] = seed, y[i] = beta * y[i-1] + (1 - beta) * x[i]  (x[0] unused), for x >= 0.

    Closed form per block: y[i0+j] = beta^(j+1) * (y[i0-1] + alpha * sum_k beta^-(k+1) x[i0+k]);
    blocks are short enough that beta^-block stays below 1e200.
    """
    m = x.shape[0]
    out = np.empty(m)
    out[0] = seed
    if m == 1:
        return out
    if beta == 0.0:
        out[1:] = x[1:]
        return out
    alpha = 1.0 - beta
    block = max(1, int(200.0 / -math.log10(beta)))
    previous, i = seed, 1
    while i < m:
        j = min(m, i + block)
        steps = np.arange(1, j - i + 1, dtype=np.float64)
        partial = np.cumsum(alpha * np.power(beta, -steps) * x[i:j])
        out[i:j] = (previous + partial) * np.power(beta, steps)
        previous, i = float(out[j - 1]), j
    return out


def current_price(p: FloatArray, n: int) -> FloatArray:
    return p


def moving_average_price(p: FloatArray, n: int) -> FloatArray:
    return _rolling_mean(p, n)


def daily_returns(p: FloatArray) -> FloatArray:
    r = _nan(p.shape[0])
    r[1:] = p[1:] / p[:-1] - 1.0
    return r


def moving_average_return(p: FloatArray, n: int) -> FloatArray:
    return _rolling_mean(daily_returns(p), n) * 100.0


def cumulative_return(p: FloatArray, n: int) -> FloatArray:
    out = _nan(p.shape[0])
    if p.shape[0] > n:
        out[n:] = (p[n:] / p[:-n] - 1.0) * 100.0
        out[~_window_valid(p, n + 1)] = np.nan
    return out


def stdev_return(p: FloatArray, n: int) -> FloatArray:
    return _rolling_std(daily_returns(p), n) * 100.0


def stdev_price(p: FloatArray, n: int) -> FloatArray:
    return _rolling_std(p, n)


def max_drawdown(p: FloatArray, n: int) -> FloatArray:
    """Largest peak-to-trough fall within the last n closes, in percent (peak inside the window)."""
    out = _nan(p.shape[0])
    if p.shape[0] >= n:
        out[n - 1 :] = _sliding((p, p, p * 0.0), n, _merge_drawdowns)[2] * 100.0
        out[~_window_valid(p, n)] = np.nan
    return out


def truncated(x: FloatArray, n: int, beta: float, span: int) -> FloatArray:
    """y[k] for k >= span-1: seed = mean(x[k-span+1 .. k-span+n]), then y = beta*y + (1-beta)*x[j]
    for j = k-span+n+1 .. k (the recursion `smooth` computes, restarted on each window of `span`).

    In closed form y[k] = beta^m * seed + S, m = span-n, S = sum of (1-beta)*beta^(k-j)*x[j] over
    the last m items; S is reduced by `_sliding` (a block of length c applied after an earlier one:
    S = beta^c * S_earlier + S_block), so each value depends on its own window's items alone and is
    the same float whatever day the array starts on. NaN before span-1. O(len * log m).
    """
    out = _nan(x.shape[0])
    if x.shape[0] < span:
        return out
    m = span - n
    seed = _rolling_mean(x, n)
    ks = np.arange(span - 1, x.shape[0])
    if m == 0:
        out[span - 1 :] = seed[ks]
        return out

    def _then(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
        return (a[0] * beta**count_b + b[0],)

    (tail,) = _sliding(((1.0 - beta) * x,), m, _then)
    out[span - 1 :] = beta**m * seed[ks - m] + tail[ks - m + 1]
    return out


def _recursive(x: FloatArray, n: int, beta: float, span: int) -> FloatArray:
    """Seeded with the mean of x[0:n] at index n-1, smoothed by `smooth`; from index span-1 on, each
    value is the recursion over its last `span` items alone (`truncated`), whose seed weighs under
    SEED_WEIGHT: a value does not depend on how much history came before it."""
    out = _nan(x.shape[0])
    if x.shape[0] < n:
        return out
    head = min(x.shape[0], span - 1)
    if head >= n:
        out[n - 1 : head] = smooth(x[n - 1 : head], float(x[:n].mean()), beta)
    if x.shape[0] >= span:
        out[span - 1 :] = truncated(x, n, beta, span)[span - 1 :]
    return out


def rsi(p: FloatArray, n: int) -> FloatArray:
    """Wilder RSI: seed = simple mean of the first n gains/losses, then alpha = 1/n; over the last
    n + warm-up changes once the run is that long (`_recursive`)."""
    out = _nan(p.shape[0])
    beta = (n - 1) / n
    span = n + warmup(1.0 / n)
    for start, end in runs(~np.isnan(p)):
        if end - start < n + 1:
            continue
        change = np.diff(p[start:end])
        up = _recursive(np.maximum(change, 0.0), n, beta, span)[n - 1 :]
        down = _recursive(np.maximum(-change, 0.0), n, beta, span)[n - 1 :]
        total = up + down
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start + n : end] = np.where(total > 0.0, 100.0 * up / total, 50.0)
    return out


def exponential_moving_average_price(p: FloatArray, n: int) -> FloatArray:
    """EMA with alpha = 2/(n+1), seeded with the simple mean of the first n closes; over the last
    n + warm-up closes once the run is that long (`_recursive`)."""
    out = _nan(p.shape[0])
    beta = 1.0 - 2.0 / (n + 1)
    span = n + warmup(2.0 / (n + 1))
    for start, end in runs(~np.isnan(p)):
        if end - start < n:
            continue
        out[start + n - 1 : end] = _recursive(p[start:end], n, beta, span)[n - 1 :]
    return out


def warmup(alpha: float) -> int:
    """Bars after the seed until the seed's weight (1 - alpha)^T falls below SEED_WEIGHT."""
    if not 0.0 < alpha < 1.0:
        return 0
    return math.ceil(math.log(SEED_WEIGHT) / math.log(1.0 - alpha))


@dataclass(frozen=True)
class IndicatorSpec:
    name: str
    compute: Callable[[FloatArray, int], FloatArray]
    extra_bars: int
    """Closes needed beyond the window: 1 for anything built on daily returns."""
    return_based: bool
    """Meaningful on a portfolio's return series (so allowed for filters over groups)."""
    unit: str
    smoothing: Callable[[int], float] | None = None
    """alpha of a recursive average, whose warm-up adds to the lookback."""
    takes_window: bool = True

    def min_bars(self, window: int | None) -> int:
        """Closes without which the value is undefined (NaN, and evaluation fails closed)."""
        return 1 if window is None or not self.takes_window else window + self.extra_bars

    def lookback_bars(self, window: int | None) -> int:
        """Closes to request so that recursive averages are also warmed up."""
        if window is None or self.smoothing is None:
            return self.min_bars(window)
        return self.min_bars(window) + warmup(self.smoothing(window))


INDICATORS: dict[str, IndicatorSpec] = {
    spec.name: spec
    for spec in (
        IndicatorSpec("rsi", rsi, 1, True, "", lambda n: 1.0 / n),
        IndicatorSpec("current-price", current_price, 0, False, "$", takes_window=False),
        IndicatorSpec("moving-average-price", moving_average_price, 0, False, "$"),
        IndicatorSpec(
            "exponential-moving-average-price", exponential_moving_average_price, 0, False, "$", lambda n: 2.0 / (n + 1)
        ),
        IndicatorSpec("moving-average-return", moving_average_return, 1, True, "%"),
        IndicatorSpec("cumulative-return", cumulative_return, 1, True, "%"),
        IndicatorSpec("stdev-return", stdev_return, 1, True, "%"),
        IndicatorSpec("stdev-price", stdev_price, 0, False, "$"),
        IndicatorSpec("max-drawdown", max_drawdown, 0, True, "%"),
    )
}
ALIASES = {
    "relative-strength-index": "rsi",
    "standard-deviation-return": "stdev-return",
    "standard-deviation-price": "stdev-price",
}
MAX_WINDOW = 5000


def compute(name: str, closes: FloatArray, window: int | None) -> FloatArray:
    return INDICATORS[name].compute(closes, 1 if window is None else window)
