"""The archive and DLQ files survive a torn line: skipped and reported, never appended onto."""

from __future__ import annotations

from datetime import UTC, datetime

from alchemiser.local.storage import Archive, DeadLetterQueue

AT = datetime(2026, 11, 25, 14, 36, tzinfo=UTC)


def _envelope(n: int) -> dict[str, object]:
    return {"id": f"e{n}", "detail-type": "SignalGenerated", "time": "2026-11-25T14:36:00Z",
            "detail": {"correlation_id": "run-1", "event_id": f"ev{n}"}}


def test_a_torn_final_dlq_line_is_skipped_reported_and_never_joined(tmp_path):
    dlq = DeadLetterQueue(tmp_path)
    first = dlq.send({"id": "a"}, rule="R", target="T", error="boom", attempts=3, failed_at=AT)
    with dlq.path.open("a", encoding="utf-8") as fh:
        fh.write('{"message_id": "half", "ev')  # a kill in the middle of a write
    assert [m["message_id"] for m in dlq.messages()] == [first["message_id"]]
    assert len(dlq.problems) == 1 and dlq.problems[0].line == 2
    second = dlq.send({"id": "b"}, rule="R", target="T", error="boom", attempts=3, failed_at=AT)
    assert [m["message_id"] for m in dlq.messages()] == [first["message_id"], second["message_id"]]
    assert "unreadable line skipped" in str(dlq.problems[0])


def test_removing_a_message_keeps_the_unreadable_lines(tmp_path):
    dlq = DeadLetterQueue(tmp_path)
    a = dlq.send({"id": "a"}, rule="R", target="T", error="x", attempts=3, failed_at=AT)
    with dlq.path.open("a", encoding="utf-8") as fh:
        fh.write("not json\n")
    b = dlq.send({"id": "b"}, rule="R", target="T", error="x", attempts=3, failed_at=AT)
    dlq.remove({a["message_id"]})
    assert [m["message_id"] for m in dlq.messages()] == [b["message_id"]]
    assert "not json" in dlq.path.read_text()


def test_a_torn_archive_line_does_not_break_reading_or_the_next_append(tmp_path):
    archive = Archive(tmp_path)
    archive.append(_envelope(1))
    with archive.path.open("a", encoding="utf-8") as fh:
        fh.write('{"id": "e2", "detail-ty')
    archive.append(_envelope(3))
    assert [e["id"] for e in archive.events()] == ["e1", "e3"]
    assert len(archive.problems) == 1
    assert [e["id"] for e in archive.of_workflow("run-1")] == ["e1", "e3"]


def test_the_workflow_s_events_are_listed_once_per_event_id_in_bus_order(tmp_path):
    archive = Archive(tmp_path)
    for n in (1, 2, 1):  # a republished event: same event id, new envelope
        archive.append({**_envelope(n), "id": f"env-{n}-{len(archive.all())}"})
    assert [e["detail"]["event_id"] for e in archive.of_workflow("run-1")] == ["ev1", "ev2"]
    assert archive.of_workflow("other") == []
