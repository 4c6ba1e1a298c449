"""The embedded store: what DynamoDB does for us in AWS, in one SQLite file under the state dir.

Each logical table is a key -> JSON document map with the operations our DynamoDB adapters use:
get, put, conditional put (put_if_absent), atomic read-modify-write (transact), delete, scan.
Writes take SQLite's write lock up front (BEGIN IMMEDIATE), so a check-then-write is atomic
across threads and processes, like a DynamoDB conditional write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

Document = dict[str, Any]

_init_lock = threading.Lock()
_initialised: set[tuple[str, str]] = set()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in the embedded store")


class SqliteTable:
    """One logical table in the state directory's SQLite database."""

    def __init__(self, path: Path, table: str) -> None:
        if not table.isidentifier():
            raise ValueError(f"bad table name {table!r}")
        self.path = Path(path)
        self.table = table
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = (str(self.path.resolve()), table)
        with _init_lock:
            if key not in _initialised:
                with self._connect() as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
                _initialised.add(key)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, conn: sqlite3.Connection, key: str) -> Document | None:
        row = conn.execute(f"SELECT v FROM {self.table} WHERE k = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def _store(self, conn: sqlite3.Connection, key: str, item: Document) -> None:
        conn.execute(
            f"INSERT INTO {self.table} (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
            (key, json.dumps(item, default=_default, sort_keys=True)),
        )

    def get(self, key: str) -> Document | None:
        with self._connect() as conn:
            return self._read(conn, key)

    def put(self, key: str, item: Document) -> None:
        with self._write() as conn:
            self._store(conn, key, item)

    def put_if_absent(self, key: str, item: Document) -> bool:
        """Store `item` only if `key` is new; True when stored."""
        with self._write() as conn:
            if self._read(conn, key) is not None:
                return False
            self._store(conn, key, item)
            return True

    def transact(self, key: str, update: Callable[[Document | None], Document | None]) -> Document | None:
        """Atomically read the item, call `update(old)`, and store what it returns (None: leave as is)."""
        with self._write() as conn:
            new = update(self._read(conn, key))
            if new is not None:
                self._store(conn, key, new)
            return new

    def delete(self, key: str) -> None:
        with self._write() as conn:
            conn.execute(f"DELETE FROM {self.table} WHERE k = ?", (key,))

    def scan(self, prefix: str = "") -> Iterator[tuple[str, Document]]:
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT k, v FROM {self.table} WHERE k >= ? AND k < ? ORDER BY k", (prefix, prefix + "\uffff")
            ).fetchall()
        for key, value in rows:
            yield key, dict(json.loads(value))
