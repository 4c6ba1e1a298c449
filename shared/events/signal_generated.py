"""SignalGenerated: the day's net target weights, with each strategy's part and its reasons."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from shared.events.base import DomainEvent, Frozen
from shared.events.types import IsoDate, Line, SignalWeight, Symbol, Weight
from shared.limits.model import Limits

MAX_EXPLANATION_LINES = 200


class StrategySignal(Frozen):
    """One strategy's own answer, before netting."""

    name: str
    file: str
    allocation: Weight
    weights: dict[Symbol, SignalWeight]
    rebalance_threshold: Weight | None = None
    explanation: tuple[Line, ...] = Field(default=(), max_length=MAX_EXPLANATION_LINES)


class SignalGenerated(DomainEvent):
    detail_type: ClassVar[str] = "SignalGenerated"

    trading_date: IsoDate
    data_as_of: IsoDate
    target_weights: dict[Symbol, SignalWeight]
    strategies: tuple[StrategySignal, ...]
    symbols: tuple[Symbol, ...]
    """Every symbol the strategies read (held or only used in a condition)."""
    limits: Limits | None = None
    """The workflow's limits, resolved once by the strategy step (shared/limits); None: the defaults."""

    def weight_sum(self) -> Decimal:
        return sum(self.target_weights.values(), Decimal(0))
