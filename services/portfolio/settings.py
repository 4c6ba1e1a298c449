"""Portfolio settings: every planning knob, read from ALCHEMISER_* at the edge."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shared.venues.settings import BrokerSettings

SECONDS_PER_DAY = 86_400


class PortfolioSettings(BrokerSettings):
    cash_reserve: Decimal = Field(default=Decimal("0.01"), ge=0, lt=1, allow_inf_nan=False)
    """Share of equity kept in cash: deployable capital = equity x (1 - cash_reserve)."""
    min_trade_value: Decimal = Field(default=Decimal("10"), ge=0, allow_inf_nan=False)
    """Dollars: a buy or a partial sell smaller than this is skipped (full exits never are)."""
    drift_band: Decimal = Field(default=Decimal("0.01"), ge=0, le=1, allow_inf_nan=False)
    """Weight points of equity: a held position this close to its target is left alone, unless a
    strategy's `:rebalance-threshold` sets the band for its symbols."""
    min_notional: Decimal = Field(default=Decimal("1"), ge=0, allow_inf_nan=False)
    """Alpaca refuses notional (fractional) orders under $1."""
    plan_idempotency_days: int = Field(default=400, ge=1, le=3650)
    """How long a handled SignalGenerated is remembered. Longer than the bus archive's 365-day
    retention, so a console resend or an archive replay of any archived signal is a duplicate."""

    @property
    def plan_idempotency_seconds(self) -> int:
        return self.plan_idempotency_days * SECONDS_PER_DAY
