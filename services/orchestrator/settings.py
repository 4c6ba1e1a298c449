"""OrchestratorSettings: every knob of the orchestrator function, read from ALCHEMISER_* at the edge."""

# No `from __future__ import annotations`: pydantic reads the annotations as they are (cold start).

from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.venues.settings import BrokerSettings


class OrchestratorSettings(BrokerSettings):
    """BrokerSettings for the broker the stage trades on: the stuck check looks orders up there by client
    order id to settle those whose outcome execution could not learn (settlement.py)."""

    workflow_table: str | None = None
    """The WorkflowTable (ALCHEMISER_WORKFLOW_TABLE); required in AWS."""
    notification_topic_arn: str | None = None
    """The NotificationTopic (ALCHEMISER_NOTIFICATION_TOPIC_ARN); required in AWS."""
    webhook_secret_name: str | None = None
    """A Secrets Manager secret `{"url": ...}` of a Slack-style incoming webhook: every notification
    also goes there, exactly once (AWS only; services/orchestrator/adapters/webhook_notifier.py). Unset: email only."""
    stuck_after_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    """An open workflow with no progress for longer than this is reported stuck by the scheduled check:
    a warning with the command that resumes it (the workflow stays open, so a DLQ redrive or a rerun
    can finish it and the record never disagrees with the broker)."""
    stuck_fail_after_minutes: int = Field(default=240, ge=1, le=7 * 24 * 60)
    """...and failed once it has made no progress for this long (at most stuck_after_minutes: failed at once)."""
    notify_on_completion: bool = True
    """Send the daily report after each completed workflow."""
    pnl_source: Literal["alpaca", "local"] | None = None
    """Where P&L equity comes from; unset: Alpaca in AWS, our own snapshots locally."""
    equity_mismatch_tolerance: Decimal = Field(default=Decimal("0.05"), ge=0, le=1)
    """A day's Alpaca equity and our snapshot may differ by this fraction before the P&L report
    flags it (they are taken at different times of the day: close vs. just after trading)."""

    @property
    def resolved_pnl_source(self) -> Literal["alpaca", "local"]:
        if self.pnl_source is not None:
            return self.pnl_source
        return "local" if self.local else "alpaca"
