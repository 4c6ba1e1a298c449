"""Strategy settings: which strategies run, which calendar decides trading days, how long a run is remembered."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.events.signal_generated import MAX_EXPLANATION_LINES
from shared.limits.model import Limits
from shared.limits.overrides import LimitOverrides
from shared.venues.settings import BrokerSettings

SECONDS_PER_DAY = 86_400
PACKAGED_CONFIG = Path(__file__).resolve().parent / "strategies" / "portfolio.toml"
"""The portfolio shipped with the function (services/strategy/strategies/portfolio.toml)."""


class StrategySettings(BrokerSettings, LimitOverrides):
    """Also the limit overrides (ALCHEMISER_MAX_POSITION_WEIGHT, ...: shared/limits/overrides.py): the strategy
    step resolves the workflow's limits (the portfolio file's `[limits]`, then these) and sends them on."""

    strategy_config: Path = PACKAGED_CONFIG
    """The portfolio TOML (strategy files and their allocations). Unset: the packaged one, found
    next to this module wherever the package lives (/var/task in Lambda). A relative path is read
    from the working directory: the project root locally, the artifact root (/var/task) in Lambda,
    which has the same layout."""
    calendar: Literal["exchange", "alpaca"] | None = None
    """Which market calendar says whether today is a trading day. Unset: "exchange" (the offline
    NYSE calendar of `exchange_calendars`) locally, "alpaca" (Alpaca's /v2/calendar) in AWS."""
    run_idempotency_days: int = Field(default=400, ge=1, le=3650)
    """How long a started run (its correlation id) is remembered: a second invocation with the
    same correlation id within this time is a duplicate that publishes nothing."""
    max_explanation_lines: int = Field(default=80, ge=1, le=MAX_EXPLANATION_LINES)
    """Per strategy, the explanation lines SignalGenerated carries (fewer if the event would
    come near EventBridge's 256 KB limit)."""

    evaluation_timing: Literal["previous-close", "near-close"] = "previous-close"
    """"previous-close" (the original's 09:35 run on D-1's closes) or "near-close" (Composer's
    timing: a run shortly before the close takes each symbol's latest trade as today's bar; the
    Scheduler then fires at 12:50 and 15:50 New York, and a firing earlier than
    `near_close_minutes` before that day's close is skipped, so an early close runs at 12:50)."""
    near_close_minutes: int = Field(default=10, ge=1, le=120)
    """How long before the close a near-close run decides (Composer trades around 15:50)."""
    near_close_window_minutes: int = Field(default=20, ge=1, le=240)
    """A near-close firing more than this many minutes before the decision time is skipped."""

    @property
    def calendar_source(self) -> Literal["exchange", "alpaca"]:
        return self.calendar or ("exchange" if self.local else "alpaca")

    @property
    def run_idempotency_seconds(self) -> int:
        return self.run_idempotency_days * SECONDS_PER_DAY

    def limits_for(self, file_limits: Limits) -> Limits:
        """The workflow's limits: the portfolio file's, then this environment's overrides."""
        return self.with_overrides(file_limits, deployed=not self.local)
