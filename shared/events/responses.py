"""The shapes every handler returns, so a console user always reads the same fields.

Text in a response is capped (`TEXT_CHARS`, cut with a final "…"): the message, and any other
top-level string (a reason, an error), so a response never grows with its input.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from shared.events.types import TEXT_CHARS, cap_text

Status = Literal["success", "skipped", "duplicate", "failed"]


def circuit_breaker_response(request_id: str | None) -> dict[str, Any]:
    """Exactly the original's response for a skipped ErrorNotificationRequested."""
    return {
        "status": "skipped",
        "mode": "error_notification",
        "trading_mode": "n/a",
        "message": "Error notification event skipped (circuit breaker)",
        "request_id": request_id,
    }


def handler_response(
    status: Status,
    message: str,
    *,
    published: Iterable[str] = (),
    correlation_id: str | None,
    request_id: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """The response of every domain-event handler (extra keys after the common ones)."""
    return {
        "status": status,
        "message": cap_text(message, TEXT_CHARS),
        "published": list(published),
        "correlation_id": correlation_id,
        "request_id": request_id,
        **{key: cap_text(value, TEXT_CHARS) if isinstance(value, str) else value for key, value in extra.items()},
    }
