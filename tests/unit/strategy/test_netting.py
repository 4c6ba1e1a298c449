"""Netting several strategies into one target, with each strategy's contribution kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.strategy.language import Evaluation, Explanation
from services.strategy.netting import net_allocations

D = Decimal


def _evaluation(weights: dict[str, Decimal]) -> Evaluation:
    root = Explanation("symphony", "test", D(1), 1, 1, {})
    return Evaluation("s", "s.clj", date(2024, 1, 5), weights, root)


def test_net_weights_sum_allocation_times_weight_per_ticker() -> None:
    net = net_allocations(
        [
            ("trend", D("0.4"), _evaluation({"TQQQ": D("0.8"), "BIL": D("0.2")})),
            ("parity", D("0.6"), _evaluation({"BIL": D("0.5"), "TLT": D("0.5")})),
        ]
    )
    assert net.weights == {"BIL": D("0.38"), "TLT": D("0.3"), "TQQQ": D("0.32")}
    assert sum(net.weights.values()) == 1


def test_contributions_attribute_each_ticker_to_the_strategies_that_want_it() -> None:
    net = net_allocations(
        [
            ("trend", D("0.4"), _evaluation({"TQQQ": D("0.8"), "BIL": D("0.2")})),
            ("parity", D("0.6"), _evaluation({"BIL": D("0.5"), "TLT": D("0.5")})),
        ]
    )
    assert net.by_symbol("BIL") == {"trend": D("0.08"), "parity": D("0.3")}
    assert net.by_strategy("trend") == {"BIL": D("0.08"), "TQQQ": D("0.32")}
    first = net.contributions[0]
    assert (first.strategy, first.symbol, first.allocation, first.strategy_weight, first.weight) == (
        "trend",
        "BIL",
        D("0.4"),
        D("0.2"),
        D("0.08"),
    )


def test_net_weights_are_rounded_to_nine_places_with_the_residue_on_the_largest() -> None:
    third = {"A": D("0.333333334"), "B": D("0.333333333"), "C": D("0.333333333")}
    net = net_allocations([("x", D("0.5"), _evaluation(third)), ("y", D("0.5"), _evaluation({"C": D(1)}))])
    assert net.weights == {"A": D("0.166666667"), "B": D("0.166666666"), "C": D("0.666666667")}
    assert sum(net.weights.values()) == 1
    assert net.by_symbol("A") == {"x": D("0.1666666670")}  # contributions stay exact


@pytest.mark.parametrize(
    ("results", "wording"),
    [
        ([], "nothing to net"),
        ([("a", D("0.5"), _evaluation({"A": D(1)}))], "sum to 1"),
        ([("a", D("1.5"), _evaluation({"A": D(1)})), ("b", D("-0.5"), _evaluation({"A": D(1)}))], "positive"),
        ([("a", D("0.5"), _evaluation({"A": D(1)})), ("a", D("0.5"), _evaluation({"A": D(1)}))], "unique"),
        ([("a", D(1), _evaluation({"A": D("0.9")}))], "do not sum to 1"),
    ],
)
def test_invalid_inputs_are_refused(results: list[tuple[str, Decimal, Evaluation]], wording: str) -> None:
    with pytest.raises(ValueError, match=wording):
        net_allocations(results)


def _split(parts: list[int], places: int) -> list[Decimal]:
    """Decimals with at most `places` places, proportional to `parts`, summing to exactly 1."""
    unit = D(1).scaleb(-places)
    rounded = [(D(p) / sum(parts)).quantize(unit) for p in parts]
    rounded[0] += 1 - sum(rounded)
    return rounded


_picks = st.lists(st.tuples(st.integers(1, 100), st.sampled_from("ABCDEFG")), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(_picks, min_size=1, max_size=5))
def test_net_weights_always_sum_to_exactly_one(strategies: list[list[tuple[int, str]]]) -> None:
    allocations = _split([len(picks) for picks in strategies], 4)
    assume(all(a > 0 for a in allocations))
    results = []
    for i, (picks, allocation) in enumerate(zip(strategies, allocations, strict=True)):
        split = _split([w for w, _ in picks], 9)
        assume(all(w > 0 for w in split))
        weights: dict[str, Decimal] = {}
        for weight, (_, symbol) in zip(split, picks, strict=True):
            weights[symbol] = weights.get(symbol, D(0)) + weight
        results.append((f"strategy {i}", allocation, _evaluation(weights)))
    net = net_allocations(results)
    assert sum(net.weights.values()) == D(1)
    assert all(w > 0 and w == w.quantize(D("1e-9")) for w in net.weights.values())
    for symbol, weight in net.weights.items():
        assert abs(weight - sum(net.by_symbol(symbol).values())) <= D("1e-8")
