"""The limits a function's environment overrides: `ALCHEMISER_<KEY>`, read at the edge with its settings.

In a deployed stage the template parameters (`MaxPositionWeight`, ...) set these on the strategy
function, which resolves the workflow's limits once (portfolio file, then these) and sends them on
with the signal; empty means "not set" (the portfolio file's value, else the default).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationInfo, field_validator

from shared.limits.loader import overridden
from shared.limits.model import KEYS, SPEC_OF, Limits, parse


class LimitOverrides(BaseModel):
    """Mixin for a function's settings: one optional field per limit (tests keep the list equal to KEYS)."""

    max_position_weight: str | None = None
    position_cap: str | None = None
    cash_symbol: str | None = None
    max_order_equity_fraction: str | None = None
    max_turnover_equity_fraction: str | None = None
    max_daily_turnover_equity_fraction: str | None = None
    max_orders_per_run: str | None = None
    max_price_move: str | None = None
    manage_whole_account: str | None = None
    limits_set_by: dict[str, str] | None = None
    """Locally, what set an override (the CLI passes its flags here: {"max_position_weight": "--max-..."})."""

    @field_validator(*KEYS, mode="before")
    @classmethod
    def _in_range(cls, raw: Any, info: ValidationInfo) -> Any:
        if raw is None or raw == "":
            return None
        text = str(raw)
        parse(str(info.field_name), text)  # raises with the key and what is allowed
        return text

    def limit_overrides(self) -> dict[str, str]:
        return {key: value for key in KEYS if (value := getattr(self, key)) is not None}

    def with_overrides(self, base: Limits, *, deployed: bool) -> Limits:
        """`base` (the portfolio file's limits) with this environment's overrides, each labelled."""
        labels = self.limits_set_by or {}

        def label(key: str) -> str:
            spec = SPEC_OF[key]
            if key in labels:
                return labels[key]
            return f"template parameter {spec.parameter} ({spec.env})" if deployed else spec.env

        return overridden(base, self.limit_overrides(), label)
