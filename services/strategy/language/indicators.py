"""Indicator math: whole-history float64 series, NaN where a value is undefined.

Every function maps a close series (ascending days, NaN before the first bar or in a gap) and its
arguments (windows in trading days) to a series of the same length, so one computation serves
every day a strategy asks about. A value at day t uses only closes up to t, and only the
contiguous run of valid closes ending at t. The definitions (and why) are in
docs/strategy-language.md; the reductions, and why each value is independent of where the array
starts, in windows.py. A group's indicators are in returns.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from services.strategy.language import returns as of_returns
from services.strategy.language.windows import (
    BoolArray,
    FloatArray,
    Parts,
    nans,
    recursive,
    rolling_mean,
    rolling_std,
    runs,
    runs_of,
    sliding,
    warmup,
    window_valid,
)

Args = tuple[int, ...]
"""An indicator's windows: () for current-price, (n,) for most, (short, long[, smooth]) for PPO."""

__all__ = ["ALIASES", "INDICATORS", "MAX_WINDOW", "Args", "BoolArray", "FloatArray", "IndicatorSpec", "args_of",
           "compute", "daily_returns", "runs", "warmup"]


def current_price(p: FloatArray, n: int) -> FloatArray:
    return p


def moving_average_price(p: FloatArray, n: int) -> FloatArray:
    return rolling_mean(p, n)


def daily_returns(p: FloatArray) -> FloatArray:
    r = nans(p.shape)
    r[1:] = p[1:] / p[:-1] - 1.0
    return r


def moving_average_return(p: FloatArray, n: int) -> FloatArray:
    return rolling_mean(daily_returns(p), n) * 100.0


def cumulative_return(p: FloatArray, n: int) -> FloatArray:
    out = nans(p.shape)
    if p.shape[0] > n:
        out[n:] = (p[n:] / p[:-n] - 1.0) * 100.0
        out[~window_valid(p, n + 1)] = np.nan
    return out


def stdev_return(p: FloatArray, n: int) -> FloatArray:
    return rolling_std(daily_returns(p), n) * 100.0


def stdev_price(p: FloatArray, n: int) -> FloatArray:
    return rolling_std(p, n)


def _merge_drawdowns(a: Parts, b: Parts, count_a: int, count_b: int) -> Parts:
    """(peak, trough, max drawdown) of run a followed by run b."""
    return np.maximum(a[0], b[0]), np.minimum(a[1], b[1]), np.maximum(np.maximum(a[2], b[2]), 1.0 - b[1] / a[0])


def max_drawdown(p: FloatArray, n: int) -> FloatArray:
    """Largest peak-to-trough fall within the last n closes, in percent (peak inside the window)."""
    out = nans(p.shape)
    if p.shape[0] >= n:
        out[n - 1 :] = sliding((p, p, p * 0.0), n, _merge_drawdowns)[2] * 100.0
        out[~window_valid(p, n)] = np.nan
    return out


def rsi(p: FloatArray, n: int) -> FloatArray:
    """Wilder RSI: seed = simple mean of the first n gains/losses, then alpha = 1/n; over the last
    n + warm-up changes once the run is that long (`recursive`)."""
    out = nans(p.shape)
    beta = (n - 1) / n
    span = n + warmup(1.0 / n)
    for start, end in runs_of(p):
        if end - start < n + 1:
            continue
        change = np.diff(p[start:end], axis=0)
        both = recursive(np.stack((np.maximum(change, 0.0), np.maximum(-change, 0.0)), axis=1), n, beta, span)
        up, down = both[n - 1 :, 0], both[n - 1 :, 1]
        total = up + down
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start + n : end] = np.where(total > 0.0, 100.0 * up / total, 50.0)
    return out


def ema(x: FloatArray, n: int) -> FloatArray:
    """EMA with alpha = 2/(n+1), seeded with the simple mean of the first n values of each run; over
    the last n + warm-up values once the run is that long (`recursive`)."""
    out = nans(x.shape)
    beta = 1.0 - 2.0 / (n + 1)
    span = n + warmup(2.0 / (n + 1))
    for start, end in runs_of(x):
        if end - start < n:
            continue
        out[start + n - 1 : end] = recursive(x[start:end], n, beta, span)[n - 1 :]
    return out


def exponential_moving_average_price(p: FloatArray, n: int) -> FloatArray:
    return ema(p, n)


def percentage_price_oscillator(p: FloatArray, short: int, long: int) -> FloatArray:
    """100 * (EMA(short) - EMA(long)) / EMA(long) (Gerald Appel's PPO, as charting services define it)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ema(p, short) - ema(p, long)) / ema(p, long) * 100.0


def ppo_signal(p: FloatArray, short: int, long: int, smooth: int) -> FloatArray:
    """The PPO's signal line: the EMA(smooth) of the PPO series (which starts long - 1 closes in)."""
    ppo = percentage_price_oscillator(p, short, long)
    if p.ndim == 1:
        return ema(ppo, smooth)
    out = nans(p.shape)  # a block without gaps: its PPO is one run from long - 1 on
    out[long - 1 :] = ema(ppo[long - 1 :], smooth)
    return out


def _ema_lookback(n: int) -> int:
    return n + warmup(2.0 / (n + 1))


def _window_needs(extra: int, smoothing: Callable[[int], float] | None = None) -> Callable[[Args], tuple[int, int]]:
    def needs(args: Args) -> tuple[int, int]:
        (n,) = args
        bare = n + extra
        return bare, bare + (warmup(smoothing(n)) if smoothing else 0)

    return needs


def _ppo_needs(args: Args) -> tuple[int, int]:
    short, long = args[0], args[1]
    bare, full = max(short, long), max(_ema_lookback(short), _ema_lookback(long))
    if len(args) == 3:
        return bare + args[2] - 1, full + _ema_lookback(args[2]) - 1
    return bare, full


@dataclass(frozen=True)
class IndicatorSpec:
    name: str
    compute: Callable[..., FloatArray]
    """closes, *args -> series."""
    needs: Callable[[Args], tuple[int, int]]
    """args -> (closes without which the value is undefined, closes to request so that recursive
    averages are warmed up too)."""
    unit: str
    of_returns: Callable[[FloatArray, int], FloatArray] | None = None
    """The same indicator of a portfolio's daily returns (returns.py); None: it has no meaning for
    a group (a price level, which a synthetic NAV does not have)."""
    options: tuple[str, ...] = ("window",)
    """The keys of its option map, in the order of `args`."""

    @property
    def return_based(self) -> bool:
        """Meaningful on a portfolio's return series (so allowed for filters over groups)."""
        return self.of_returns is not None

    def min_bars(self, args: Args | int | None) -> int:
        """Closes without which the value is undefined (NaN, and evaluation fails closed)."""
        values = args_of(args)
        return self.needs(values)[0] if values else 1

    def lookback_bars(self, args: Args | int | None) -> int:
        """Closes to request so that recursive averages are also warmed up."""
        values = args_of(args)
        return self.needs(values)[1] if values else 1


def _no_window(args: Args) -> tuple[int, int]:
    return 1, 1


INDICATORS: dict[str, IndicatorSpec] = {
    spec.name: spec
    for spec in (
        IndicatorSpec("rsi", rsi, _window_needs(1, lambda n: 1.0 / n), "", of_returns.rsi),
        IndicatorSpec("current-price", current_price, _no_window, "$", options=()),
        IndicatorSpec("moving-average-price", moving_average_price, _window_needs(0), "$"),
        IndicatorSpec("exponential-moving-average-price", exponential_moving_average_price,
                      _window_needs(0, lambda n: 2.0 / (n + 1)), "$"),
        IndicatorSpec("moving-average-return", moving_average_return, _window_needs(1), "%",
                      of_returns.moving_average_return),
        IndicatorSpec("cumulative-return", cumulative_return, _window_needs(1), "%", of_returns.cumulative_return),
        IndicatorSpec("stdev-return", stdev_return, _window_needs(1), "%", of_returns.stdev_return),
        IndicatorSpec("stdev-price", stdev_price, _window_needs(0), "$"),
        IndicatorSpec("max-drawdown", max_drawdown, _window_needs(0), "%", of_returns.max_drawdown),
        IndicatorSpec("percentage-price-oscillator", percentage_price_oscillator, _ppo_needs, "%",
                      options=("short-window", "long-window")),
        IndicatorSpec("percentage-price-oscillator-signal", ppo_signal, _ppo_needs, "%",
                      options=("short-window", "long-window", "smooth-window")),
    )
}
ALIASES = {
    "relative-strength-index": "rsi",
    "standard-deviation-return": "stdev-return",
    "standard-deviation-price": "stdev-price",
}
MAX_WINDOW = 5000


def args_of(window: Args | int | None) -> Args:
    """An indicator's arguments from a window (None: current-price) or a tuple of windows."""
    if window is None:
        return ()
    if isinstance(window, int):
        return (window,)
    return window


def compute(name: str, closes: FloatArray, window: Args | int | None) -> FloatArray:
    spec = INDICATORS[name]
    args = args_of(window)
    return spec.compute(closes, *(args or (1,)))
