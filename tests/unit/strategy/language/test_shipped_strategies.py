"""The example strategies we ship parse, print back, and evaluate day after day on generated data."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from services.strategy.language import IndicatorCache, evaluate, parse_file, parse_text, to_text
from services.strategy.language.nodes import Filter, Group, If, WeightInverseVolatility, iter_nodes
from tests.unit.strategy.language.conftest import random_history, truncated

STRATEGIES = Path(__file__).resolve().parents[4] / "services" / "strategy" / "strategies"
FILES = sorted(STRATEGIES.glob("*.clj"))
LIQUID_ETFS = {
    "SPY",
    "QQQ",
    "TQQQ",
    "SQQQ",
    "UVXY",
    "VIXY",
    "BIL",
    "SHY",
    "IEF",
    "TLT",
    "TMF",
    "GLD",
    "DBC",
    "XLK",
    "XLE",
    "XLV",
    "XLF",
    "XLP",
    "XLU",
    "SOXL",
    "TECL",
    "UPRO",
    "SPXU",
    "VTI",
    "VEA",
    "VWO",
    "BND",
    "AGG",
}


def test_there_are_at_least_three_shipped_strategies() -> None:
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_shipped_strategy_parses_round_trips_and_uses_liquid_etfs(path: Path) -> None:
    symphony = parse_file(path)
    assert parse_text(to_text(symphony)) == symphony
    assert set(symphony.symbols) <= LIQUID_ETFS
    assert symphony.lookback_days <= 252


def test_shipped_strategies_cover_the_language() -> None:
    nodes = [node for path in FILES for node in iter_nodes(parse_file(path).body)]
    indicators = {n.condition.left.name for n in nodes if isinstance(n, If) and hasattr(n.condition.left, "name")}
    indicators |= {n.condition.right.name for n in nodes if isinstance(n, If) and hasattr(n.condition.right, "name")}
    indicators |= {n.indicator.name for n in nodes if isinstance(n, Filter)}
    assert indicators == {
        "rsi",
        "current-price",
        "moving-average-price",
        "exponential-moving-average-price",
        "moving-average-return",
        "cumulative-return",
        "stdev-return",
        "stdev-price",
        "max-drawdown",
    }
    assert any(isinstance(n, Filter) and any(isinstance(c, Group) for c in n.children) for n in nodes)
    assert any(isinstance(n, WeightInverseVolatility) for n in nodes)


def test_shipped_strategies_evaluate_on_every_one_of_sixty_days() -> None:
    symphonies = [parse_file(path) for path in FILES]
    symbols = sorted({s for sym in symphonies for s in sym.symbols})
    full = random_history(symbols, 2_520, seed=42, vol=0.015)
    for days in range(2_520 - 60, 2_521):
        h = truncated(full, days)
        cache = IndicatorCache()
        for symphony in symphonies:
            assert sum(evaluate(symphony, h, cache).weights.values()) == Decimal(1)
