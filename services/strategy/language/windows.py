"""Reductions over windows of a series, each value a function of its own window's items alone.

Every indicator (of a ticker's closes, indicators.py, or of a portfolio's daily returns,
returns.py) is built from these. A value at t depends only on the items of its window, reduced
in an order fixed by the window's length, never by where the array starts: the value is the same
float whether a run evaluates one day on its lookback window or the backtest ten years at once.
Recursive averages (RSI, EMA) are seeded at the start of a run of valid items until the run
holds their warm-up, then computed over their last `span` items alone (`truncated`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Parts = tuple[FloatArray, ...]
Combine = Callable[[Parts, Parts, int, int], Parts]

SEED_WEIGHT = 1e-6
"""Warm-up target: the seed of a recursive average keeps at most this weight (see `warmup`)."""


def runs_of(x: FloatArray) -> list[tuple[int, int]]:
    """[start, end) of every run of valid items of a series; a block of several series (one per
    column) is given only without gaps (IndicatorCache.prefetch), so it is one run."""
    if x.ndim > 1:
        return [(0, x.shape[0])] if x.shape[0] else []
    return runs(~np.isnan(x))


def runs(valid: BoolArray) -> list[tuple[int, int]]:
    """[start, end) of every run of True."""
    edges = np.diff(np.concatenate(([0], valid.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def nans(shape: int | tuple[int, ...]) -> FloatArray:
    return np.full(shape, np.nan)


def window_valid(x: FloatArray, n: int) -> BoolArray:
    """True at t when x[t-n+1 .. t] are all valid (along the first axis)."""
    ok = np.zeros(x.shape, dtype=np.bool_)
    if x.shape[0] >= n:
        bad = np.zeros((x.shape[0] + 1, *x.shape[1:]), dtype=np.int64)
        np.cumsum(np.isnan(x), axis=0, out=bad[1:])
        ok[n - 1 :] = (bad[n:] - bad[:-n]) == 0
    return ok


def sliding(leaf: Parts, n: int, combine: Combine) -> Parts:
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


def add(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    return (a[0] + b[0],)


def multiply(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    return (a[0] * b[0],)


def merge_moments(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    """Chan et al.: merge (mean, sum of squared deviations) of two adjacent runs."""
    delta = b[0] - a[0]
    total = count_a + count_b
    return a[0] + delta * (count_b / total), a[1] + b[1] + delta * delta * (count_a * count_b / total)


def rolling_mean(x: FloatArray, n: int) -> FloatArray:
    """Mean of each window of n (along the first axis), NaN where one is missing (summed by `sliding`)."""
    out = nans(x.shape)
    if x.shape[0] >= n:
        (sums,) = sliding((x,), n, add)
        out[n - 1 :] = sums / n
    return out


def rolling_std(x: FloatArray, n: int) -> FloatArray:
    """Population standard deviation (divide by n), merged pairwise for numerical stability."""
    out = nans(x.shape)
    if x.shape[0] >= n:
        _, squares = sliding((x, x * 0.0), n, merge_moments)
        out[n - 1 :] = np.sqrt(np.maximum(squares, 0.0) / n)
    return out


def smooth(x: FloatArray, seed: float | FloatArray, beta: float) -> FloatArray:
    """y[0] = seed, y[i] = beta * y[i-1] + (1 - beta) * x[i]  (x[0] unused), for x >= 0, along the
    first axis (several series at once: one column each).

    Closed form per block: y[i0+j] = beta^(j+1) * (y[i0-1] + alpha * sum_k beta^-(k+1) x[i0+k]);
    blocks are short enough that beta^-block stays below 1e200.
    """
    m = x.shape[0]
    out = np.empty(x.shape)
    out[0] = seed
    if m == 1:
        return out
    if beta == 0.0:
        out[1:] = x[1:]
        return out
    alpha = 1.0 - beta
    block = max(1, int(200.0 / -math.log10(beta)))
    column = (-1,) + (1,) * (x.ndim - 1)
    previous, i = out[0], 1
    while i < m:
        j = min(m, i + block)
        steps = np.arange(1, j - i + 1, dtype=np.float64).reshape(column)
        partial = np.cumsum(alpha * np.power(beta, -steps) * x[i:j], axis=0)
        out[i:j] = (previous + partial) * np.power(beta, steps)
        previous, i = out[j - 1], j
    return out


def truncated(x: FloatArray, n: int, beta: float, span: int) -> FloatArray:
    """y[k] for k >= span-1: seed = mean(x[k-span+1 .. k-span+n]), then y = beta*y + (1-beta)*x[j]
    for j = k-span+n+1 .. k (the recursion `smooth` computes, restarted on each window of `span`).

    In closed form y[k] = beta^m * seed + S, m = span-n, S = sum of (1-beta)*beta^(k-j)*x[j] over
    the last m items; S is reduced by `sliding` (a block of length c applied after an earlier one:
    S = beta^c * S_earlier + S_block), so each value depends on its own window's items alone and is
    the same float whatever day the array starts on. NaN before span-1. O(len * log m).
    """
    out = nans(x.shape)
    if x.shape[0] < span:
        return out
    m = span - n
    seed = rolling_mean(x, n)
    ks = np.arange(span - 1, x.shape[0])
    if m == 0:
        out[span - 1 :] = seed[ks]
        return out

    def then(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
        return (a[0] * beta**count_b + b[0],)

    (tail,) = sliding(((1.0 - beta) * x,), m, then)
    out[span - 1 :] = beta**m * seed[ks - m] + tail[ks - m + 1]
    return out


def recursive(x: FloatArray, n: int, beta: float, span: int) -> FloatArray:
    """Seeded with the mean of x[0:n] at index n-1, smoothed by `smooth`; from index span-1 on, each
    value is the recursion over its last `span` items alone (`truncated`), whose seed weighs under
    SEED_WEIGHT: a value does not depend on how much history came before it. Along the first axis."""
    out = nans(x.shape)
    if x.shape[0] < n:
        return out
    head = min(x.shape[0], span - 1)
    if head >= n:
        seed = rolling_mean(x[:n], n)[n - 1]  # summed by `sliding`: the same float for one series or many
        out[n - 1 : head] = smooth(x[n - 1 : head], seed, beta)
    if x.shape[0] >= span:
        out[span - 1 :] = truncated(x, n, beta, span)[span - 1 :]
    return out


def warmup(alpha: float) -> int:
    """Bars after the seed until the seed's weight (1 - alpha)^T falls below SEED_WEIGHT."""
    if not 0.0 < alpha < 1.0:
        return 0
    return math.ceil(math.log(SEED_WEIGHT) / math.log(1.0 - alpha))
