"""Properties over generated strategy trees: printing round-trips, weights always sum to exactly 1,
and the vectorised group replay agrees with a day-by-day evaluation."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.strategy.language import IndicatorCache, Symphony, evaluate, parse_text, to_text
from services.strategy.language.analysis import lookback_of
from services.strategy.language.nodes import Node
from services.strategy.language.portfolio import node_returns
from tests.unit.strategy.language.conftest import TICKERS, nodes, random_history, symphonies, truncated

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(symphonies)
def test_printing_then_parsing_gives_back_the_same_symphony(symphony: Symphony) -> None:
    text = to_text(symphony)
    again = parse_text(text, "printed.clj")
    assert again == symphony
    assert again.symbols == symphony.symbols and again.lookback_days == symphony.lookback_days
    assert to_text(again) == text


@_SETTINGS
@given(nodes, st.integers(0, 2**16))
def test_weights_are_non_negative_nine_places_and_sum_to_exactly_one(body: Node, seed: int) -> None:
    days = lookback_of(body, warm_up=False) + 5
    result = evaluate(Symphony.build("p", body), random_history(TICKERS, days, seed=seed))
    assert result.weights
    assert sum(result.weights.values()) == Decimal(1)
    for weight in result.weights.values():
        assert isinstance(weight, Decimal) and weight > 0
        assert weight == weight.quantize(Decimal("1e-9"))
    assert len(result.summary_lines()) <= 200


@_SETTINGS
@given(nodes, st.integers(0, 2**16))
def test_vectorised_replay_earns_what_the_day_by_day_evaluation_held(body: Node, seed: int) -> None:
    days = lookback_of(body, warm_up=False) + 3
    full = random_history(TICKERS, days + 1, seed=seed)
    held = evaluate(Symphony.build("p", body), truncated(full, days)).weights
    earned = sum(float(w) * (full.closes[s][days] / full.closes[s][days - 1] - 1) for s, w in held.items())
    replayed = node_returns(body, IndicatorCache(full))[days]
    assert abs(replayed - earned) < 1e-8
