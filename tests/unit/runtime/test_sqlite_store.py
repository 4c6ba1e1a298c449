"""The embedded store: conditional writes that hold under threads."""

from __future__ import annotations

from decimal import Decimal

from shared.runtime.sqlite_store import SqliteTable
from tests.fakes.concurrency import all_at_once, raised


def test_put_get_scan_delete(tmp_path):
    table = SqliteTable(tmp_path / "s.sqlite", "things")
    table.put("a#1", {"n": 1, "amount": Decimal("1.10")})
    table.put("a#2", {"n": 2})
    table.put("b#1", {"n": 3})
    assert table.get("a#1") == {"n": 1, "amount": "1.10"}
    assert [k for k, _ in table.scan("a#")] == ["a#1", "a#2"]
    table.delete("a#1")
    assert table.get("a#1") is None


def test_put_if_absent_is_atomic_across_threads(tmp_path):
    table = SqliteTable(tmp_path / "s.sqlite", "once")
    results = all_at_once([lambda i=i: table.put_if_absent("key", {"by": i}) for i in range(16)])
    winners = [i for i, won in enumerate(results) if won is True]
    assert raised(results) == [] and len(winners) == 1
    assert table.get("key") == {"by": winners[0]}


def test_transact_read_modify_write_loses_no_update(tmp_path):
    table = SqliteTable(tmp_path / "s.sqlite", "counter")

    def bump() -> None:
        for _ in range(25):
            table.transact("c", lambda old: {"n": (old or {"n": 0})["n"] + 1})

    assert raised(all_at_once([bump] * 4)) == []
    assert table.get("c") == {"n": 100}


def test_transact_returning_none_leaves_the_item(tmp_path):
    table = SqliteTable(tmp_path / "s.sqlite", "t")
    table.put("k", {"v": 1})
    assert table.transact("k", lambda old: None) is None
    assert table.get("k") == {"v": 1}
