"""LambdaEvent: the command a person or the Scheduler sends straight to a function."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.events.base import Frozen
from shared.events.types import Identifier

PnlPeriod = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,2}[DWMA]$")]


class LambdaEvent(Frozen):
    """The original's command fields; unknown keys are rejected so a typo cannot pass silently.

    - `mode`: "trade" runs the day (strategy function); "signal" evaluates without trading;
      "plan" answers what today's run would do (services/strategy/app.py `plan_only`), doing none of it.
    - `action`: "pnl_analysis" (orchestrator: P&L report), "check_stuck_workflows"
      (orchestrator: the scheduled stuck-workflow check), "test_notification" (orchestrator: one
      message to every notification channel, to check the subscription).
    - `correlation_id`: set it to start a second run on a day that already ran.
    """

    mode: Literal["trade", "signal", "plan"] = "trade"
    action: Literal["pnl_analysis", "check_stuck_workflows", "test_notification"] | None = None
    pnl_type: Literal["weekly", "monthly"] | None = None
    pnl_period: PnlPeriod | None = None
    pnl_periods: int | None = Field(default=None, ge=1, le=520)
    pnl_detailed: bool | None = None
    correlation_id: Identifier | None = None
