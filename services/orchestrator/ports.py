"""The orchestrator's ports: where workflows are kept, how the user is told, where P&L comes from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from services.orchestrator.workflow_record import EquitySnapshot, EventEntry, StoredWorkflow, WorkflowRecord

if TYPE_CHECKING:
    from shared.broker.port import Order


class WorkflowStore(Protocol):
    """Workflow records (versioned, conditional writes), the event log and equity snapshots."""

    def load(self, correlation_id: str) -> StoredWorkflow | None:
        """The record and its version, read consistently; None if never seen."""

    def save(self, record: WorkflowRecord, *, expected_version: int) -> bool:
        """Write `record` as version `expected_version + 1` if the stored version is still
        `expected_version` (0: the record must not exist yet). False when someone else wrote first."""

    def open_workflows(self) -> list[WorkflowRecord]:
        """Records not finished, or finished with effects still owed (the sparse open index)."""

    def record_event(self, entry: EventEntry) -> bool:
        """Record an event once per (correlation id, event id): True if new. When the event is
        already recorded and `entry` is a replay, the replay name is noted on the existing entry."""

    def event_entry(self, correlation_id: str, event_id: str) -> EventEntry | None: ...

    def put_snapshot(self, snapshot: EquitySnapshot) -> None:
        """Store (or overwrite with the same content) the snapshot for its workflow."""

    def snapshots(self, trading_mode: str, start: date, end: date) -> list[EquitySnapshot]:
        """Snapshots with start <= trading_date <= end, oldest first."""


class Notifier(Protocol):
    """Deliver one message to the user; raise if it was not accepted (never publishes events)."""

    def send(self, subject: str, message: str) -> str:
        """Returns the delivery's id (SNS MessageId, or a local id)."""


@dataclass(frozen=True)
class EquityPoint:
    day: date
    equity: Decimal


class PortfolioHistory(Protocol):
    """Daily account equity over a period (Alpaca's portfolio history, or our own snapshots)."""

    source: str

    def daily_equity(self, *, period: str, end: date) -> list[EquityPoint]:
        """One point per trading day in the period ending at `end`, oldest first."""


class OrderLookup(Protocol):
    """The broker's book, by client order id (settling an order whose outcome execution could not learn)."""

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        """The order, or None when the broker has none under that id; raises BrokerError when it cannot tell."""

    def cancel_order(self, broker_order_id: str) -> None:
        """Cancel an open order (idempotent: a final order stays as it is)."""
