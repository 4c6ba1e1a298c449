"""Symphony: a parsed strategy with the facts its evaluation needs up front."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from services.strategy.language.analysis import corridor_width_of, rebalance_threshold_of, survey
from services.strategy.language.errors import StrategyError
from services.strategy.language.nodes import Node, Pos, structurally_equal
from services.strategy.rebalance import Frequency, parse_frequency

_SUPPORTED_ASSET_CLASSES = ("EQUITIES",)
_START = Pos(1, 1)


@dataclass(frozen=True, eq=False)
class Symphony:
    """One strategy. Equality is structural (positions and file ignored); build with `Symphony.build`."""

    name: str
    options: Mapping[str, Any]
    """Header map, keyed by keyword name without the colon: {"rebalance-threshold": Decimal("0.05")}."""
    rebalance_threshold: Decimal | None
    source_file: str
    body: Node
    symbols: tuple[str, ...]
    """Every ticker held or read by an indicator, sorted."""
    lookback_days: int
    """Trading days of history (ending on the evaluation day) to fetch, warm-up included."""
    pos: Pos = _START
    rebalance_frequency: Frequency = "daily"
    """`:rebalance-frequency` (services/strategy/rebalance.py): on which sessions targets are decided."""
    corridor_width: Decimal | None = None
    """`:rebalance-corridor-width` as written (a fraction: 0.05 = 5 points), or None."""

    @classmethod
    def build(
        cls,
        name: str,
        body: Node,
        options: Mapping[str, Any] | None = None,
        *,
        source_file: str = "<string>",
        pos: Pos = _START,
        options_pos: Pos | None = None,
    ) -> Symphony:
        """Validate every node and derive symbols and lookback; raises StrategyError."""
        opts = MappingProxyType(dict(options or {}))
        where = options_pos or pos
        try:
            threshold = rebalance_threshold_of(opts)
            frequency = parse_frequency(opts.get("rebalance-frequency"))
            corridor = corridor_width_of(opts)
        except ValueError as exc:
            raise StrategyError(source_file, where.line, where.column, str(exc)) from None
        if threshold is None:
            threshold = corridor  # Composer's threshold mode: the corridor is the drift that triggers a trade
        asset_class = opts.get("asset-class")
        if asset_class is not None and asset_class not in _SUPPORTED_ASSET_CLASSES:
            raise StrategyError(
                source_file,
                where.line,
                where.column,
                f':asset-class {asset_class!r} is not supported; expected "EQUITIES"',
            )
        problem, symbols, lookback = survey(body)
        if problem:
            at, message = problem
            raise StrategyError(source_file, at.line, at.column, message)
        return cls(name, opts, threshold, source_file, body, symbols, lookback, pos, frequency, corridor)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Symphony):
            return NotImplemented
        return (
            self.name == other.name
            and dict(self.options) == dict(other.options)
            and structurally_equal(self.body, other.body)
        )

    def __hash__(self) -> int:
        return hash((self.name, self.symbols, self.lookback_days))

    def __repr__(self) -> str:
        return f"Symphony({self.name!r}, file={self.source_file!r}, symbols={len(self.symbols)})"
