"""Every knob of the execution function, read from ALCHEMISER_* at the edge (see CommonSettings)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field

from shared.venues.settings import BrokerSettings

KILL_SWITCH_FILE = "kill-switch"


class ExecutionSettings(BrokerSettings):
    # ---- kill switch ---------------------------------------------------------------------------
    kill_switch_parameter: str | None = None
    """SSM parameter holding `active`, `reducing` or `halted` (AWS). Locally: `<state_dir>/kill-switch`."""

    # The limits (max_position_weight, ...) are not settings of this function: each plan carries its
    # workflow's, resolved once by the strategy step from the portfolio file and its overrides (shared/limits).

    # ---- placing and waiting -------------------------------------------------------------------
    fill_wait_seconds: float = Field(default=60.0, ge=0)
    """How long to poll the sells (then the buys) for fills before canceling what is left."""
    poll_interval_seconds: float = Field(default=2.0, gt=0)
    post_lookup_attempts: int = Field(default=4, ge=1)
    """After an order POST with an unknown outcome: how many times to look the order up."""
    post_lookup_delay_seconds: float = Field(default=1.0, ge=0)
    """The first wait before such a look-up (doubling after each)."""
    post_attempts: int = Field(default=3, ge=1, le=10)
    """POSTs per order at most: a failed POST whose order a look-up confirmed absent is resubmitted with the
    same client order id (honouring Retry-After / the rate-limit reset) while this and the deadline allow."""
    buying_power_margin: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    """Buys are scaled to fit buying power x (1 - margin), a cushion for qty orders' price moves."""

    # ---- idempotency ---------------------------------------------------------------------------
    plan_idempotency_days: int = Field(default=7, ge=1)
    """How long a plan's idempotency record (layer 1) answers 'duplicate'."""
    workflow_guard_days: int = Field(default=400, ge=1)
    """How long the one-plan-per-workflow guard (layer 2) lives: longer than the event archive (365 days)."""

    @property
    def kill_switch_file(self) -> Path:
        return self.state_dir / KILL_SWITCH_FILE
