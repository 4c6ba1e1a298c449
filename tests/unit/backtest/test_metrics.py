"""The backtest's metric formulas against empyrical (a well-kept analytics library) on the same returns."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from alchemiser.backtest import metrics

TOL = 1e-9


@pytest.fixture(scope="module")
def empyrical():
    """Imported by the first test that compares with it, not at collection: empyrical pulls in scipy
    (about a second), which every pytest-xdist worker would otherwise pay while collecting."""
    return pytest.importorskip("empyrical", reason="empyrical-reloaded is a dev dependency (requirements/dev.lock)")


def _series(seed: int, n: int = 700, drift: float = 0.0004, vol: float = 0.012) -> pd.Series:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2021-01-04", periods=n)
    return pd.Series(rng.normal(drift, vol, n), index=days)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("rf_annual", [0.0, 0.04])
def test_return_and_risk_statistics_match_empyrical(empyrical, seed, rf_annual):
    r = _series(seed)
    b = _series(seed + 100, drift=0.0003) * 0.5 + r * 0.5
    a, bb = r.to_numpy(), b.to_numpy()
    rf = rf_annual / metrics.TRADING_DAYS
    assert metrics.total_return(a) == pytest.approx(empyrical.cum_returns_final(r), abs=TOL)
    assert metrics.cagr(a) == pytest.approx(empyrical.annual_return(r), abs=TOL)
    assert metrics.volatility(a) == pytest.approx(empyrical.annual_volatility(r), abs=TOL)
    assert metrics.sharpe(a, rf) == pytest.approx(empyrical.sharpe_ratio(r, risk_free=rf), abs=TOL)
    assert metrics.sortino(a, rf) == pytest.approx(empyrical.sortino_ratio(r, required_return=rf), abs=TOL)
    assert metrics.max_drawdown(a) == pytest.approx(empyrical.max_drawdown(r), abs=TOL)
    assert metrics.calmar(a) == pytest.approx(empyrical.calmar_ratio(r), abs=TOL)
    assert metrics.beta(a, bb) == pytest.approx(empyrical.beta(r, b), abs=TOL)
    assert metrics.correlation(a, bb) == pytest.approx(float(np.corrcoef(a, bb)[0, 1]), abs=TOL)


def test_monthly_and_yearly_returns_match_empyrical_aggregation(empyrical):
    r = _series(7)
    days = [d.date() for d in r.index]
    monthly = metrics.period_returns(days, r.to_numpy(), "monthly")
    yearly = metrics.period_returns(days, r.to_numpy(), "yearly")
    expected_m = empyrical.aggregate_returns(r, "monthly")
    expected_y = empyrical.aggregate_returns(r, "yearly")
    assert len(monthly) == len(expected_m) and len(yearly) == len(expected_y)
    for (year, month), value in expected_m.items():
        assert monthly[f"{year:04d}-{month:02d}"] == pytest.approx(value, abs=TOL)
    for year, value in expected_y.items():
        assert yearly[f"{year:04d}"] == pytest.approx(value, abs=TOL)


def test_returns_count_the_first_session_against_the_starting_capital():
    r = metrics.returns_of([99.0, 108.9], 100.0)
    assert r == pytest.approx([-0.01, 0.1])


def test_drawdown_dates_and_the_longest_time_under_water():
    days = [date(2024, 1, d) for d in (2, 3, 4, 5, 8, 9, 10)]
    equity = [100.0, 110.0, 99.0, 88.0, 105.0, 111.0, 100.0]
    r = metrics.returns_of(equity, 100.0)
    facts = metrics.drawdown_facts(days, r)
    assert facts["max_drawdown"] == pytest.approx(88 / 110 - 1)
    assert (facts["peak"], facts["trough"], facts["recovery"]) == ("2024-01-03", "2024-01-05", "2024-01-09")
    assert facts["longest_underwater_sessions"] == 3  # the 4th, 5th and 8th
    assert (facts["longest_underwater_from"], facts["longest_underwater_to"]) == ("2024-01-03", "2024-01-08")
    assert facts["longest_underwater_days"] == 5


def test_undefined_statistics_are_null_in_json():
    flat = np.zeros(10)
    assert np.isnan(metrics.sharpe(flat)) and np.isnan(metrics.calmar(flat))
    assert metrics.finite({"a": float("nan"), "b": [float("inf"), 1.0]}) == {"a": None, "b": [None, 1.0]}
