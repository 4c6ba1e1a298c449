"""The weights rule on whole units of 1e-9 (weights.py, netting.net_units) is exactly the Decimal rule:
half-even rounding of each weight to 9 places, zeros dropped, the residue on the largest weight."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.strategy.language.weights import decimal_weights, round_weights, units_of_floats, weight_units
from services.strategy.netting import net_units

NINE = Decimal("1e-9")


def _quantized(value: float) -> int:
    return int((Decimal(value) / NINE).quantize(Decimal(1), ROUND_HALF_EVEN))


def test_float_weights_round_half_even_exactly_even_on_binary_midpoints() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.random(50_000), np.arange(1, 2049) / 1024, np.arange(1, 1000) / 2**20,
                             np.array([0.0, 1.0, 0.5, 1 / 3, 2 / 3, 0.0009765625])])
    assert units_of_floats(values).tolist() == [_quantized(float(v)) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=12))
def test_settled_units_are_round_weights_of_the_same_floats(parts: list[int]) -> None:
    floats = np.asarray(parts, dtype=np.float64) / sum(parts)
    tickers = [f"T{i:02d}" for i in range(len(parts))]
    exact = {t: Decimal(float(w)) for t, w in zip(tickers, floats, strict=True)}
    assert decimal_weights(tickers, weight_units(floats)[0]) == round_weights(exact)


@st.composite
def _strategies(draw: st.DrawFn) -> tuple[list[Decimal], list[dict[int, int]]]:
    count = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.integers(1, 10**9 - 1), min_size=count - 1, max_size=count - 1, unique=True)))
    bounds = [0, *cuts, 10**9]
    allocations = [Decimal(hi - lo) * NINE for lo, hi in itertools.pairwise(bounds)]
    weights = []
    for _ in range(count):
        held = draw(st.lists(st.integers(0, 7), min_size=1, max_size=5, unique=True))
        shares = draw(st.lists(st.integers(1, 1000), min_size=len(held), max_size=len(held)))
        units = [s * 10**9 // sum(shares) for s in shares]
        units[0] += 10**9 - sum(units)
        weights.append(dict(zip(held, units, strict=True)))
    return allocations, weights


@settings(max_examples=300, deadline=None)
@given(_strategies())
def test_netting_in_units_is_round_weights_of_the_exact_decimal_sums(case: tuple[list[Decimal], list[dict[int, int]]]
                                                                      ) -> None:
    allocations, weights = case
    tickers = [f"T{i}" for i in range(8)]
    rows = [np.array([[w.get(j, 0) for j in range(8)]], dtype=np.int64) for w in weights]
    netted = net_units(allocations, rows, [np.arange(8, dtype=np.int64)] * len(rows), 8)
    assert netted is not None
    with localcontext() as ctx:
        ctx.prec = 60
        exact: dict[str, Decimal] = {}
        for allocation, w in zip(allocations, weights, strict=True):
            for j, units in w.items():
                exact[tickers[j]] = exact.get(tickers[j], Decimal(0)) + allocation * units * NINE
    assert decimal_weights(tickers, netted[0]) == round_weights({t: v for t, v in exact.items() if v})


def test_allocations_of_more_than_nine_places_are_left_to_decimal_netting() -> None:
    rows = [np.array([[10**9]], dtype=np.int64)] * 2
    third = Decimal("0.3333333333333")
    assert net_units([third, 1 - third], rows, [np.arange(1, dtype=np.int64)] * 2, 1) is None
