"""What the orchestrator keeps about a workflow: plain data, no I/O (pydantic models).

A workflow record holds the events that moved it, the time of each step, the outcome, and the
effects still owed for its terminal transition (`pending`, see `effects.py`).

Each event is kept whole, as its JSON-compatible dict (`EventData`: the event exactly as the
middleware validated it, dumped with `model_dump(mode="json")`), so the daily report and the P&L
attribution can read anything it carries. They read it typed through `recorded_events.RecordedEvents`,
which validates it back into its model on the terminal path; loading or saving a record builds no
event model, so a progress event's invocation pays only for its own event's model. The stored JSON
is the same as when the record held the models (each event as its JSON object).
"""

# No `from __future__ import annotations`: pydantic reads these annotations as they are instead of
# evaluating strings, which takes a millisecond off every cold start.

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal, NamedTuple

from shared.events.base import Frozen  # the events' base: immutable, an unknown field is an error
from shared.events.types import TradingMode

RETENTION_DAYS: Final = 400
"""Workflow records and event entries outlive the bus archive (365 days), so a replay of any
archived event still finds its workflow finished and changes nothing."""

WorkflowStatus = Literal["started", "signals", "planned", "settling", "completed", "failed", "skipped"]
"""`settling`: execution reported some order's outcome unknown; the stuck check settles it from the broker's
book (services/orchestrator/settlement.py), then the workflow ends as any executed one does."""
TERMINAL: Final[frozenset[str]] = frozenset({"completed", "failed", "skipped"})
PROGRESS_RANK: Final[dict[str, int]] = {"started": 0, "signals": 1, "planned": 2, "settling": 3}

# The step a workflow waits on in each open status: where it stopped if it never moves again.
WAITING_ON: Final[dict[str, Literal["strategy", "portfolio", "execution"]]] = {
    "started": "strategy",
    "signals": "portfolio",
    "planned": "execution",
    "settling": "execution",
}


EventData = dict[str, Any]
"""An event as `event.model_dump(mode="json")`: what the record keeps of each event it applied."""


class Failure(Frozen):
    """Why a workflow ended failed or skipped, and at which step."""

    step: str
    reason: str
    error_type: str
    event_id: str | None = None
    """The event that reported it (None for a stuck workflow, found by the scheduled check)."""


class StrategyWeights(Frozen):
    allocation: Decimal
    weights: dict[str, Decimal]


class EquitySnapshot(Frozen):
    """Our own record of the account's equity at a completed workflow (for P&L cross-checks)."""

    trading_mode: TradingMode
    trading_date: date
    correlation_id: str
    recorded_at: datetime
    equity_before: Decimal | None = None
    equity_after: Decimal
    prices: dict[str, Decimal] = {}
    """Prices seen that day: fills first, then the plan's position and reference prices."""
    strategies: dict[str, StrategyWeights] = {}
    """Each strategy's allocation and own target weights (per-strategy P&L estimates)."""
    attribution: dict[str, Decimal] = {}
    """Strategy -> signed dollars it asked to trade that day (buys positive)."""
    limits: tuple[str, ...] = ()
    """The user's limits that bound that day, each with its numbers and where to change it: a refusal (the
    account did not trade; the equity is the plan's) or a position clipped to the cap."""


class Notification(Frozen):
    """A message for the user; `key` makes its delivery exactly-once."""

    key: str
    kind: Literal["report", "error"]
    subject: str
    message: str


class Effect(Frozen):
    """Something owed for a terminal transition; removed from `pending` once done."""

    effect_id: str
    kind: Literal["publish", "snapshot", "notify"]
    detail_type: str | None = None
    detail: str | None = None
    """The event to publish, as JSON: republished byte for byte after an interrupted attempt."""
    snapshot: EquitySnapshot | None = None
    notification: Notification | None = None


class Lease(Frozen):
    """Who is carrying out the pending effects, until when (wall-clock epoch seconds)."""

    owner: str
    until: float


class WorkflowRecord(Frozen):
    correlation_id: str
    trading_mode: TradingMode
    status: WorkflowStatus
    trading_date: date | None = None
    created_at: datetime
    last_progress_at: datetime
    """The orchestrator's clock when an event last moved or enriched the workflow (stuck check)."""
    steps: dict[str, datetime] = {}
    """started / signals / planned / executed: when the event happened; completed / failed /
    skipped: the orchestrator's clock at the transition."""
    applied: tuple[str, ...] = ()
    """Ids of the events applied to this record (dedupe, atomic with the transition)."""
    last_event_id: str
    last_hop: int
    started: EventData | None = None
    """The WorkflowStarted (as EventData; likewise the three below)."""
    signals: EventData | None = None
    """The SignalGenerated."""
    plan: EventData | None = None
    """The RebalancePlanned."""
    execution: EventData | None = None
    """The TradeExecuted."""
    failure: Failure | None = None
    outcome_event_id: str | None = None
    """The WorkflowCompleted / WorkflowFailed / ErrorNotificationRequested that ended it."""
    pending: tuple[Effect, ...] = ()
    lease: Lease | None = None
    stuck_warned_at: datetime | None = None
    """When the stuck check last warned that this open workflow made no progress (cleared by progress)."""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_open(self) -> bool:
        """In the open-workflows index: not finished, or finished with effects still owed."""
        return not self.terminal or bool(self.pending)


class StoredWorkflow(NamedTuple):
    """A record as loaded, with the version that a conditional save must match."""

    record: WorkflowRecord
    version: int


class EventEntry(Frozen):
    """One event as the orchestrator saw it: recorded once per event id; replays are noted on it."""

    correlation_id: str
    event_id: str
    detail_type: str
    source: str | None
    occurred_at: datetime
    received_at: datetime
    delivery: str
    hop_count: int
    envelope_id: str | None = None
    replay_names: tuple[str, ...] = ()
