"""The local notifier's files (read back by `alchemiser invoke`) and SNS's message size limit."""

from __future__ import annotations

from datetime import UTC, datetime

from services.orchestrator.adapters.local_notifier import (
    LocalNotifier,
    format_notification,
    new_notifications,
    notifications_offset,
)
from services.orchestrator.adapters.sns_notifier import MAX_MESSAGE_BYTES, fit_message


def test_the_local_notifier_appends_a_readable_log_and_json_lines(state_dir):
    notifier = LocalNotifier(state_dir, clock=lambda: datetime(2026, 11, 25, 14, 35, tzinfo=UTC))
    first = notifier.send("subject one", "body one\n")
    offset = notifications_offset(state_dir)
    notifier.send("subject two", "body two\n")
    assert first.startswith("local-")
    log = (state_dir / "notifications.log").read_text()
    assert "===== 2026-11-25T14:35:00Z  subject one\nbody one\n" in log and "subject two" in log
    (new,) = new_notifications(state_dir, offset)
    assert (new["subject"], new["message"], new["at"]) == ("subject two", "body two\n", "2026-11-25T14:35:00Z")
    assert "notification: subject two" in format_notification(new)


def test_no_notifications_file_means_nothing_new(tmp_path):
    assert notifications_offset(tmp_path) == 0 and new_notifications(tmp_path, 0) == []


def test_a_message_over_the_sns_limit_is_cut_and_says_so():
    message = fit_message("\u00e9" * MAX_MESSAGE_BYTES)
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    assert message.endswith("[message truncated: over SNS's 256 KB limit]\n")
    assert fit_message("short") == "short"
