"""The day P&L's base: one rule for the event path (app) and the stuck check's settlement (commands)."""

from __future__ import annotations

from datetime import date, timedelta

from services.orchestrator.invocation import snapshot_before


class Store:
    def __init__(self, days: list[date]) -> None:
        self.days = days
        self.asked: list[tuple[str, date, date]] = []

    def snapshots(self, trading_mode: str, start: date, end: date) -> list[date]:
        self.asked.append((trading_mode, start, end))
        return [d for d in self.days if start <= d <= end]


def test_the_latest_snapshot_before_the_trading_day_within_a_month():
    day = date(2026, 11, 25)
    store = Store([date(2026, 10, 20), date(2026, 11, 20), day])
    assert snapshot_before(store, "paper", day) == date(2026, 11, 20)  # type: ignore[arg-type, comparison-overlap]
    assert store.asked == [("paper", day - timedelta(days=31), day - timedelta(days=1))]
    assert snapshot_before(Store([date(2026, 10, 1)]), "paper", day) is None  # type: ignore[arg-type]



def test_the_state_machines_docstring_names_every_status():
    """state_machine.py's docstring is where a reader learns the states: each WorkflowStatus must be in its diagram."""
    import re
    from typing import get_args

    from services.orchestrator import state_machine
    from services.orchestrator.workflow_record import WorkflowStatus

    doc = state_machine.__doc__ or ""
    diagram = doc[doc.index("States and transitions"):doc.index("- WorkflowStarted")]
    assert {s for s in get_args(WorkflowStatus) if not re.search(rf"\b{s}\b", diagram)} == set()
