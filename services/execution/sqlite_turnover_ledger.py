"""The daily turnover ledger in the embedded store (state_dir/state.sqlite), locally (turnover_ledger.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from services.execution.turnover_ledger import RETENTION_SECONDS, Entries, LedgerOperations, T, from_json, to_json

if TYPE_CHECKING:
    from shared.runtime.sqlite_store import Document


class SqliteTurnoverLedger(LedgerOperations):
    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        from shared.runtime.sqlite_store import SqliteTable  # local only: AWS never loads sqlite3

        self._table = SqliteTable(path, "execution_turnover")
        self._wall_clock = wall_clock

    def _mutate(self, key: str, change: Callable[[Entries], tuple[T, Entries | None]]) -> T:
        answer: list[T] = []

        def update(old: Document | None) -> Document | None:
            result, new = change(from_json((old or {}).get("plans", {})))
            answer.append(result)
            if new is None:
                return None
            return {"plans": to_json(new), "expiration": int(self._wall_clock()) + RETENTION_SECONDS}

        self._table.transact(key, update)
        return answer[-1]
