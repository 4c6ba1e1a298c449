"""PortfolioHistory from our own equity snapshots (one per completed workflow): works offline."""

from __future__ import annotations

from datetime import date

from services.orchestrator.pnl import latest_per_day, period_start
from services.orchestrator.ports import EquityPoint, WorkflowStore


class SnapshotPortfolioHistory:
    source = "local"

    def __init__(self, store: WorkflowStore, trading_mode: str) -> None:
        self._store, self._mode = store, trading_mode

    def daily_equity(self, *, period: str, end: date) -> list[EquityPoint]:
        snapshots = self._store.snapshots(self._mode, period_start(period, end), end)
        return [EquityPoint(day, snap.equity_after) for day, snap in latest_per_day(snapshots).items()]
