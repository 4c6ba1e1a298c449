"""The workflow guard in the embedded store (state_dir/state.sqlite), locally (workflow_guard.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from services.execution.workflow_guard import ConditionalClaims, WorkflowClaim, claim_from, expired, guard_key

if TYPE_CHECKING:
    from shared.runtime.sqlite_store import Document


class SqliteWorkflowGuard(ConditionalClaims):
    """The embedded store (state_dir/state.sqlite), with DynamoDB's conditional-write semantics."""

    def __init__(self, path: Path, *, ttl_seconds: int, wall_clock: Callable[[], float] = time.time) -> None:
        from shared.runtime.sqlite_store import SqliteTable  # local only: AWS never loads sqlite3

        self._table = SqliteTable(path, "execution_workflows")
        self._ttl = ttl_seconds
        self._wall_clock = wall_clock

    def _live(self, item: Document | None) -> Document | None:
        if item is None or expired(item, self._wall_clock()):
            return None
        return item

    def peek(self, correlation_id: str) -> WorkflowClaim | None:
        item = self._live(self._table.get(guard_key(correlation_id)))
        return None if item is None else claim_from(correlation_id, item)

    def _put_if_free(self, correlation_id: str, item: Document) -> WorkflowClaim:
        held: list[Document] = []

        def put_if_free(old: Document | None) -> Document | None:
            live = self._live(old)
            if live is not None:
                held.append(live)
                return None
            held.append(item)
            return item

        self._table.transact(guard_key(correlation_id), put_if_free)
        return claim_from(correlation_id, held[0])

    def finish(self, correlation_id: str, plan_id: str, status: str) -> None:
        now = self._wall_clock()

        def mark_done(old: Document | None) -> Document | None:
            if old is None or old.get("plan_id") != plan_id:
                return None
            return {**old, "state": "done", "status": status, "finished_at": int(now)}

        self._table.transact(guard_key(correlation_id), mark_done)
