"""Handler responses: the common fields, and text that never grows with the input."""

from __future__ import annotations

from shared.events.responses import handler_response
from shared.events.types import TEXT_CHARS


def test_messages_and_text_fields_are_capped_other_values_kept():
    response = handler_response("failed", "m" * 1_000_000, correlation_id="c", request_id="r",
                                reason="x" * 50_000, totals={"n": 1}, plan_id="p-1")
    assert len(response["message"]) == TEXT_CHARS and response["message"].endswith("…")
    assert len(response["reason"]) == TEXT_CHARS
    assert response["totals"] == {"n": 1} and response["plan_id"] == "p-1"


def test_short_messages_are_untouched():
    response = handler_response("success", "done", published=["e1"], correlation_id="c", request_id=None)
    assert response == {"status": "success", "message": "done", "published": ["e1"], "correlation_id": "c",
                        "request_id": None}
