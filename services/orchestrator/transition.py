"""What a workflow transition is: its kind, its options, and the record facts both sides read.

A leaf module: the state machine (state_machine.py) builds transitions and the terminal transitions
(terminal.py) build them too; both import these names from here, so neither imports the other for
them (state_machine.py imports terminal.py when a workflow ends, once per workflow).
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise
from typing import Literal, NamedTuple

from services.orchestrator.workflow_record import EquitySnapshot, WorkflowRecord
from shared.runtime.clock import trading_date

STEPS = ("started", "signals", "planned", "executed", "completed")

TransitionKind = Literal["recorded", "completed", "failed", "skipped", "duplicate", "late", "broker_disagrees",
                         "stuck_warned"]


class Options(NamedTuple):
    notify_on_completion: bool = True
    previous_snapshot: EquitySnapshot | None = None
    """The latest equity snapshot before this workflow's trading date (day P&L in the report)."""


class Transition(NamedTuple):
    kind: TransitionKind
    record: WorkflowRecord | None
    """The record to save; None when nothing changes (duplicate, late)."""
    created: bool
    message: str

    @property
    def ended(self) -> bool:
        return self.kind in ("completed", "failed", "skipped")


DEFAULT_OPTIONS = Options()


def trading_date_of(record: WorkflowRecord) -> date | None:
    """The trading date the first of its events says (read from the kept JSON: no model is built)."""
    for source in (record.started, record.signals, record.plan):
        if source is not None:
            return date.fromisoformat(source["trading_date"])
    if record.execution is not None:
        return trading_date(datetime.fromisoformat(record.execution["started_at"]))
    return record.trading_date


def step_seconds(steps: dict[str, datetime]) -> dict[str, float]:
    """Seconds from the previous step to each step, for the steps whose predecessor was seen."""
    out: dict[str, float] = {}
    for previous, step in pairwise(STEPS):
        if previous in steps and step in steps:
            out[step] = round(max(0.0, (steps[step] - steps[previous]).total_seconds()), 3)
    return out
