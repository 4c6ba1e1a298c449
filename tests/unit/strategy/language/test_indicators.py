"""Golden tests: each vectorised indicator against hand-computed values and a plain-Python reference.

The references below are written from the definitions in docs/strategy-language.md with loops
over lists, independently of the numpy code.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from services.strategy.language.indicators import INDICATORS, compute

NAN = math.nan


def _returns(p: list[float]) -> list[float]:
    return [p[i] / p[i - 1] - 1 for i in range(1, len(p))]


def ref_sma(p: list[float], n: int) -> float:
    return sum(p[-n:]) / n


def _warm_up(alpha: float) -> int:
    """Bars after the seed until the seed weighs under 1e-6 (docs/strategy-language.md)."""
    return math.ceil(math.log(1e-6) / math.log(1 - alpha)) if 0 < alpha < 1 else 0


def ref_ema(p: list[float], n: int) -> float:
    alpha = 2 / (n + 1)
    p = p[-(n + _warm_up(alpha)):]  # over the last n + warm-up closes once there are that many
    value = sum(p[:n]) / n
    for price in p[n:]:
        value = alpha * price + (1 - alpha) * value
    return value


def ref_rsi(p: list[float], n: int) -> float:
    p = p[-(n + 1 + _warm_up(1 / n)):]
    changes = [p[i] - p[i - 1] for i in range(1, len(p))]
    gain = sum(max(c, 0.0) for c in changes[:n]) / n
    loss = sum(max(-c, 0.0) for c in changes[:n]) / n
    for c in changes[n:]:
        gain = (gain * (n - 1) + max(c, 0.0)) / n
        loss = (loss * (n - 1) + max(-c, 0.0)) / n
    if gain + loss == 0:
        return 50.0
    if loss == 0:
        return 100.0
    return 100 - 100 / (1 + gain / loss)


def ref_moving_average_return(p: list[float], n: int) -> float:
    return sum(_returns(p)[-n:]) / n * 100


def ref_cumulative_return(p: list[float], n: int) -> float:
    return (p[-1] / p[-1 - n] - 1) * 100


def ref_stdev_return(p: list[float], n: int) -> float:
    return statistics.pstdev(_returns(p)[-n:]) * 100


def ref_stdev_price(p: list[float], n: int) -> float:
    return statistics.pstdev(p[-n:])


def ref_max_drawdown(p: list[float], n: int) -> float:
    worst, peak = 0.0, -math.inf
    for price in p[-n:]:
        peak = max(peak, price)
        worst = max(worst, 1 - price / peak)
    return worst * 100


def ref_ppo(p: list[float], short: int, long: int) -> float:
    """Percentage price oscillator: 100 * (EMA(short) - EMA(long)) / EMA(long)."""
    slow = ref_ema(p, long)
    return (ref_ema(p, short) - slow) / slow * 100


def ref_ppo_signal(p: list[float], short: int, long: int, smooth: int) -> float:
    """The EMA(smooth) of the PPO series (defined from the long window's first full day)."""
    ppo = [ref_ppo(p[: i + 1], short, long) for i in range(long - 1, len(p))]
    return ref_ema(ppo, smooth)


REFERENCES = {
    "current-price": lambda p, n: p[-1],
    "moving-average-price": ref_sma,
    "exponential-moving-average-price": ref_ema,
    "rsi": ref_rsi,
    "moving-average-return": ref_moving_average_return,
    "cumulative-return": ref_cumulative_return,
    "stdev-return": ref_stdev_return,
    "stdev-price": ref_stdev_price,
    "max-drawdown": ref_max_drawdown,
    "percentage-price-oscillator": ref_ppo,
    "percentage-price-oscillator-signal": ref_ppo_signal,
}


def _args(name: str, window: int) -> tuple[int, ...]:
    """The indicator's windows for a test `window`: the PPO's are derived from it."""
    if name == "percentage-price-oscillator":
        return (window, 2 * window + 1)
    if name == "percentage-price-oscillator-signal":
        return (window, 2 * window + 1, window // 2 + 1)
    return (window,)


def _ref(name: str, prices: list[float], window: int) -> float:
    return REFERENCES[name](prices, *_args(name, window))


def _walk(days: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(100 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, days))))


def test_every_indicator_has_a_reference() -> None:
    assert set(REFERENCES) == set(INDICATORS)


@pytest.mark.parametrize("name", sorted(INDICATORS))
@pytest.mark.parametrize("window", [1, 2, 5, 14, 60, 200])
def test_indicator_matches_plain_python_reference_on_every_day(name: str, window: int) -> None:
    prices = _walk(320, seed=window)
    series = compute(name, np.array(prices), _args(name, window))
    need = INDICATORS[name].min_bars(_args(name, window))
    for t in range(len(prices)):
        if t + 1 < need:
            assert math.isnan(series[t]), (name, window, t)
        else:
            expected = _ref(name, prices[: t + 1], window)
            assert series[t] == pytest.approx(expected, rel=1e-9, abs=1e-9), (name, window, t)


@pytest.mark.parametrize(
    ("name", "prices", "window", "expected"),
    [
        ("current-price", [3.0, 4.0, 5.0], None, [3.0, 4.0, 5.0]),
        ("moving-average-price", [1.0, 2.0, 3.0, 4.0, 5.0], 3, [NAN, NAN, 2.0, 3.0, 4.0]),
        # alpha = 0.5; seed = mean(1, 2, 3) = 2; then 0.5 * 4 + 0.5 * 2 = 3
        ("exponential-moving-average-price", [1.0, 2.0, 3.0, 4.0], 3, [NAN, NAN, 2.0, 3.0]),
        # changes +1 -1 +1 +1; seed G = L = 0.5 -> 50; then G = .75, L = .25 -> 75; G = .875 -> 87.5
        ("rsi", [1.0, 2.0, 1.0, 2.0, 3.0], 2, [NAN, NAN, 50.0, 75.0, 87.5]),
        ("rsi", [5.0, 5.0, 5.0], 2, [NAN, NAN, 50.0]),
        ("rsi", [1.0, 2.0, 3.0], 2, [NAN, NAN, 100.0]),
        ("rsi", [3.0, 2.0, 1.0], 2, [NAN, NAN, 0.0]),
        ("moving-average-return", [100.0, 110.0, 99.0], 2, [NAN, NAN, 0.0]),
        ("cumulative-return", [100.0, 110.0, 121.0], 2, [NAN, NAN, 21.0]),
        ("cumulative-return", [100.0, 90.0], 1, [NAN, -10.0]),
        ("stdev-price", [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8, [NAN] * 7 + [2.0]),
        # returns +10 % and -10 %: population deviation 10 %
        ("stdev-return", [100.0, 110.0, 99.0], 2, [NAN, NAN, 10.0]),
        # 120 -> 90 is the fall; a window of 2 at the end sees only 90 -> 110
        ("max-drawdown", [100.0, 120.0, 90.0, 110.0], 4, [NAN, NAN, NAN, 25.0]),
        ("max-drawdown", [100.0, 120.0, 90.0, 110.0], 2, [NAN, 0.0, 25.0, 0.0]),
        # EMA(1) is the price, EMA(3) = 2 then 3: (3 - 2) / 2, (4 - 3) / 3
        ("percentage-price-oscillator", [1.0, 2.0, 3.0, 4.0], (1, 3), [NAN, NAN, 50.0, 100 / 3]),
        # the signal's EMA(1) is the PPO itself
        ("percentage-price-oscillator-signal", [1.0, 2.0, 3.0, 4.0], (1, 3, 1), [NAN, NAN, 50.0, 100 / 3]),
    ],
)
def test_hand_computed_values(name: str, prices: list[float], window: int | tuple[int, ...] | None,
                              expected: list[float]) -> None:
    got = compute(name, np.array(prices), window)
    assert list(got) == pytest.approx(expected, rel=1e-12, nan_ok=True)


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_values_use_only_the_contiguous_run_of_closes_ending_that_day(name: str) -> None:
    prices = _walk(200, seed=7)
    with_gaps = [NAN] * 10 + prices[:60] + [NAN] + prices[60:]
    series = compute(name, np.array(with_gaps), _args(name, 14))
    need = INDICATORS[name].min_bars(_args(name, 14))
    after_gap = 10 + 60 + 1
    for t, value in enumerate(series):
        if math.isnan(with_gaps[t]):
            assert math.isnan(value)
            continue
        run_start = 10 if t < after_gap else after_gap
        run = with_gaps[run_start : t + 1]
        if len(run) < need:
            assert math.isnan(value), (name, t)
        else:
            assert value == pytest.approx(_ref(name, run, 14), rel=1e-9, abs=1e-9), (name, t)


def test_indicators_are_causal_so_truncating_history_does_not_change_past_values() -> None:
    prices = np.array(_walk(400, seed=3))
    for name in INDICATORS:
        full = compute(name, prices, _args(name, 30))
        part = compute(name, prices[:250], _args(name, 30))
        np.testing.assert_allclose(full[:250], part, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_a_value_is_the_same_float_on_any_history_that_holds_its_lookback(name: str) -> None:
    """What lets the backtest compute every day on one whole history and still give, to the last
    bit, what a run on that day computes on its own window."""
    prices = np.array(_walk(900, seed=5))
    for window in (3, 10, 50):
        full = compute(name, prices, _args(name, window))
        bars = INDICATORS[name].lookback_bars(_args(name, window))
        for start in (1, 7, 133, max(1, 900 - bars - 40)):
            part = compute(name, prices[start:], _args(name, window))
            first = start + bars - 1  # from here the suffix holds the whole lookback
            assert np.array_equal(full[first:], part[first - start:]), (name, window, start)


def test_warm_up_in_lookback_makes_recursive_indicators_independent_of_extra_history() -> None:
    prices = np.array(_walk(1200, seed=11))
    cases: tuple[tuple[str, int | tuple[int, ...]], ...] = (
        ("rsi", 10), ("rsi", 60), ("exponential-moving-average-price", 50),
        ("percentage-price-oscillator", (12, 26)), ("percentage-price-oscillator-signal", (12, 26, 9)))
    for name, window in cases:
        bars = INDICATORS[name].lookback_bars(window)
        long_run = compute(name, prices, window)[-1]
        just_enough = compute(name, prices[-bars:], window)[-1]
        assert abs(long_run - just_enough) <= 1e-6 * max(1.0, abs(long_run)) * 100
