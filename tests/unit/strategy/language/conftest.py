"""Helpers for the strategy-language tests: price histories and generated strategy trees."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType

import numpy as np
from hypothesis import strategies as st

from services.strategy.language import StrategyError, Symphony, parse_text
from services.strategy.language.indicators import INDICATORS
from services.strategy.language.nodes import (
    Asset,
    Condition,
    Filter,
    Group,
    If,
    IndicatorCall,
    Keyword,
    Node,
    Number,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)
from shared.marketdata.port import PriceHistory

DAY0 = np.datetime64("2020-01-01")
TICKERS = ("AAA", "BBB", "CCC", "DDD", "EEE")
RETURN_BASED = tuple(name for name, spec in INDICATORS.items() if spec.return_based)


def history(closes: Mapping[str, Sequence[float]]) -> PriceHistory:
    """A history with the given closes on consecutive days (NaN allowed)."""
    length = len(next(iter(closes.values())))
    dates = np.arange(DAY0, DAY0 + length)
    return PriceHistory(dates, {s: np.asarray(v, dtype=np.float64) for s, v in closes.items()})


def random_history(symbols: Sequence[str], days: int, seed: int = 0, vol: float = 0.02) -> PriceHistory:
    rng = np.random.default_rng(seed)
    closes = {s: 100.0 * np.exp(np.cumsum(rng.normal(0.0002, vol, days))) for s in symbols}
    return PriceHistory(np.arange(DAY0, DAY0 + days), closes)


def truncated(h: PriceHistory, days: int) -> PriceHistory:
    return PriceHistory(h.dates[:days], {s: v[:days] for s, v in h.closes.items()})


def strategy(body: str, options: str = "{}", name: str = "test") -> Symphony:
    return parse_text(f'(defsymphony "{name}" {options}\n  {body})', "test.clj")


def error_of(text: str, filename: str = "bad.clj") -> StrategyError:
    try:
        parse_text(text, filename)
    except StrategyError as exc:
        return exc
    raise AssertionError("expected a StrategyError")


# --- generated trees (hypothesis) ---------------------------------------------------------------

windows = st.integers(min_value=1, max_value=20)
numbers = st.decimals(min_value=-500, max_value=500, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def indicator_calls(
    draw: st.DrawFn, with_ticker: bool = True, names: Sequence[str] = tuple(INDICATORS)
) -> IndicatorCall:
    name = draw(st.sampled_from(names))
    symbol = draw(st.sampled_from(TICKERS)) if with_ticker else None
    options = INDICATORS[name].options
    if len(options) > 1:  # the PPO: short < long (and a smoothing window)
        short = draw(windows)
        params = (short, short + draw(windows), *([draw(windows)] if len(options) == 3 else []))
        return IndicatorCall(name, symbol, None, params=params)
    return IndicatorCall(name, symbol, None if not options else draw(windows))


operands = st.one_of(indicator_calls(), numbers.map(Number))
conditions = st.builds(Condition, st.sampled_from([">", "<", ">=", "<=", "="]), operands, operands)
assets = st.builds(Asset, st.sampled_from(TICKERS), st.none() | st.text(max_size=8))


@st.composite
def _weight_specified(draw: st.DrawFn, kids: st.SearchStrategy[tuple[Node, ...]]) -> WeightSpecified:
    children = draw(kids)
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(children) - 1, max_size=len(children) - 1)))
    bounds = [0, *cuts, 100]
    weights = tuple(Decimal(hi - lo) / 100 for lo, hi in itertools.pairwise(bounds))
    return WeightSpecified(weights, children)


@st.composite
def _filter(draw: st.DrawFn, kids: st.SearchStrategy[tuple[Node, ...]]) -> Filter:
    children = draw(kids)
    names = tuple(INDICATORS) if all(isinstance(c, Asset) for c in children) else RETURN_BASED
    call = draw(indicator_calls(with_ticker=False, names=names))
    return Filter(call, draw(st.sampled_from(["top", "bottom"])), draw(st.integers(1, 4)), children)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    kids = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(Group, st.text(max_size=8), kids),
        st.builds(WeightEqual, kids),
        _weight_specified(kids),
        st.builds(WeightInverseVolatility, st.integers(2, 20), kids),
        _filter(kids),
        st.builds(If, conditions, kids, kids),
    )


nodes: st.SearchStrategy[Node] = st.recursive(assets, _extend, max_leaves=10)

option_maps = st.fixed_dictionaries(
    {},
    optional={
        "asset-class": st.just("EQUITIES"),
        "rebalance-threshold": st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.5"), places=2),
        "rebalance-frequency": st.sampled_from([Keyword("daily"), Keyword("none")]),
        "tags": st.lists(st.text(max_size=5), max_size=3).map(tuple),
        "note": st.none() | st.booleans() | st.text(max_size=10) | numbers,
        "meta": st.dictionaries(st.sampled_from([Keyword("a"), Keyword("b")]), numbers, max_size=2).map(
            MappingProxyType
        ),
    },
)
symphonies = st.builds(
    lambda name, body, options: Symphony.build(name, body, options), st.text(max_size=12), nodes, option_maps
)
