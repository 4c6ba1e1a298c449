"""Workflow records as the orchestrator saves them, for the deployed WorkflowTable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.orchestrator.workflow_record import Failure, WorkflowRecord

T0 = datetime(2026, 11, 25, 14, 35, tzinfo=UTC)
BROKER_DOWN = Failure(step="execution", reason="BrokerUnavailable: timed out", error_type="BrokerUnavailable")


def a_workflow_record(day: int = 0, status: Any = "completed", failure: Failure | None = None) -> WorkflowRecord:
    start = T0 + timedelta(days=day)
    steps = {"started": start, "signals": start + timedelta(seconds=2), "planned": start + timedelta(seconds=5),
             status: start + timedelta(seconds=9)}
    return WorkflowRecord(correlation_id=f"run-{(date(2026, 11, 25) + timedelta(days=day)).isoformat()}-paper",
                          trading_mode="paper", status=status, trading_date=start.date(), created_at=start,
                          last_progress_at=start, steps=steps, last_event_id=f"e{day}", last_hop=3, failure=failure)
