"""Target weights as the rest of the system sees them: Decimal, 9 places, summing to exactly 1.

One rule, for one day's float weights (the Lambda) and for ten years of them at once (the
backtest): each weight is rounded half-even to 9 places, zeros dropped, and the rounding residue
goes to the largest weight (ties: the first ticker alphabetically). It is computed on whole units
of 10^-9 (int64), so a matrix of days is rounded in one pass and gives, row by row, exactly what
`Decimal(weight).quantize(Decimal("1e-9"), ROUND_HALF_EVEN)` gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import numpy.typing as npt

from services.strategy.language.indicators import FloatArray

IntArray = npt.NDArray[np.int64]
UNIT = 10**9
"""Units of 10^-9 in a weight of 1."""
PLACES = Decimal("1e-9")
_MAX_RESIDUE = 1000
"""Units (1e-6) of rounding residue beyond which the weights did not sum to 1: an evaluator bug."""
_NEAR_HALF = 1e-6
"""A float weight whose scaled fraction is this close to .5 is rounded exactly (Decimal): scaling by
10^9 in float is off by at most 1.1e-7 of a unit for weights up to 1."""


def units_of_floats(weights: FloatArray) -> IntArray:
    """Each float weight rounded half-even to whole units of 10^-9, exactly (no residue applied)."""
    scaled = weights * 1e9
    units = np.rint(scaled).astype(np.int64)
    near = np.abs(scaled - np.floor(scaled) - 0.5) < _NEAR_HALF
    for index in zip(*np.nonzero(near), strict=True):
        units[index] = int((Decimal(float(weights[index])) / PLACES).quantize(Decimal(1), ROUND_HALF_EVEN))
    return units


def settle(units: IntArray) -> IntArray:
    """Each row's rounding residue (to a sum of exactly UNIT) on its largest weight, in place.
    Columns are in ticker order, so the first of equal weights is the first ticker alphabetically."""
    if units.ndim != 2 or not units.shape[0]:
        return units
    residue = UNIT - units.sum(axis=1)
    if (np.abs(residue) > _MAX_RESIDUE).any():
        worst = int(residue[np.abs(residue).argmax()])
        raise ValueError(f"weights sum to {Decimal(UNIT - worst) * PLACES}, not 1: an evaluator bug")
    units[np.arange(units.shape[0]), units.argmax(axis=1)] += residue
    return units


def weight_units(weights: FloatArray) -> IntArray:
    """Rows of float weights (each summing to 1 up to float rounding) as settled units."""
    return settle(units_of_floats(np.atleast_2d(weights)))


_DECIMALS: dict[int, Decimal] = {}


def decimal_of(units: int) -> Decimal:
    """`units` x 10^-9 as a Decimal with 9 places (cached: equal splits repeat on every day)."""
    found = _DECIMALS.get(units)
    if found is None:
        found = Decimal(units) * PLACES
        if len(_DECIMALS) < 1_000_000:
            _DECIMALS[units] = found
    return found


def decimal_weights(tickers: Sequence[str], units: IntArray) -> dict[str, Decimal]:
    """One settled row as {ticker: weight} for the weights above 0, in ticker order."""
    held = np.flatnonzero(units > 0).tolist()
    values = units[held].tolist()
    found = list(map(_DECIMALS.get, values))  # a backtest converts a row a session: the loops stay in C
    if not all(found):  # a miss (None): a cached weight is above 0, never falsy
        found = [decimal_of(value) if weight is None else weight for value, weight in zip(values, found, strict=True)]
    return dict(zip(map(tickers.__getitem__, held), found, strict=True))  # type: ignore[arg-type]


def to_decimal_weights(raw: Mapping[str, float]) -> dict[str, Decimal]:
    """Float weights (summing to 1 up to rounding) as Decimal weights by the rule above."""
    tickers = sorted(raw)
    if not tickers:
        raise ValueError("no weight left after rounding")
    units = weight_units(np.array([[raw[t] for t in tickers]], dtype=np.float64))[0]
    if not (units > 0).any():
        raise ValueError("no weight left after rounding")
    return decimal_weights(tickers, units)


def round_weights(exact: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Exact Decimal weights (summing to 1 up to rounding) as Decimal weights by the rule above."""
    tickers = sorted(exact)
    units = np.array([[int((exact[t] / PLACES).quantize(Decimal(1), ROUND_HALF_EVEN)) for t in tickers]],
                     dtype=np.int64)
    if not (units > 0).any():
        raise ValueError("no weight left after rounding")
    return decimal_weights(tickers, settle(units)[0])
