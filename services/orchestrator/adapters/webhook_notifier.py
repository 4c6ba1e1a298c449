"""Notifier over a Slack-style incoming webhook: one JSON POST `{"text": ...}` per message.

Works with Slack's incoming webhooks and the Slack-compatible ones (Mattermost, Rocket.Chat,
Discord's `<webhook url>/slack`). The URL is a credential (anyone holding it can post to the
channel): it lives in a Secrets Manager secret (`{"url": "https://hooks.slack.com/services/..."}`),
read through Powertools Parameters (`get_secret(name, transform="json", max_age=...)`), and it is
never logged, never put in an error message and never shown by a repr.

Exactly-once delivery is not this module's business: notifications.py claims each message per
channel before sending it (the webhook's claim is separate from the email's), releases the claim
when `send` raises, so the function's retry sends it again.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

MAX_TEXT_CHARS = 35_000
"""Slack truncates a message's text at 40,000 characters; we cut earlier and say so."""
_TRUNCATED = "\n\n[message truncated]"
WEBHOOK_URL_MAX_AGE_SECONDS = 300
"""How long a container reuses the webhook URL it read from the secret (a rotated URL: minutes)."""
TIMEOUT_SECONDS = 10.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class WebhookError(RuntimeError):
    """The webhook did not accept the message (the text never contains the URL)."""


def fit_text(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[: MAX_TEXT_CHARS - len(_TRUNCATED)] + _TRUNCATED


def check_url(url: str) -> None:
    """https only (plain http to a loopback address is allowed, for local fakes)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return
    raise WebhookError("the webhook URL must be an https:// URL")


def webhook_url_from_secret(secret_name: str, *, client: Any = None,
                            max_age: int = WEBHOOK_URL_MAX_AGE_SECONDS) -> Callable[[], str]:
    """A reader of the URL in the secret `{"url": "..."}`, cached `max_age` seconds by Powertools."""

    def read() -> str:
        from aws_lambda_powertools.utilities.parameters import (
            GetParameterError,
            SecretsProvider,
            TransformParameterError,
            get_secret,
        )

        data: Any
        try:
            if client is None:
                data = get_secret(secret_name, transform="json", max_age=max_age)
            else:
                data = SecretsProvider(boto3_client=client).get(secret_name, transform="json", max_age=max_age)
        except TransformParameterError:
            raise WebhookError(f"secret {secret_name!r} is not valid JSON (expected {{\"url\": ...}})") from None
        except GetParameterError as exc:
            cause = exc.__cause__ or exc.__context__
            error = getattr(cause, "response", None)
            code = error.get("Error", {}).get("Code") if isinstance(error, dict) else None
            raise WebhookError(f"cannot read secret {secret_name!r}: {code or type(cause or exc).__name__}") from None
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.strip():
            raise WebhookError(f"secret {secret_name!r} has no \"url\" string")
        return url.strip()

    return read


class WebhookNotifier:
    def __init__(self, url: Callable[[], str], *, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self._url = url
        self.timeout_seconds = timeout_seconds

    def __repr__(self) -> str:
        return "WebhookNotifier(url=***)"

    def send(self, subject: str, message: str) -> str:
        """POST the message; returns an id (a digest of what was sent); raises WebhookError if refused."""
        url = self._url()
        check_url(url)
        body = json.dumps({"text": fit_text(f"*{subject}*\n{message}")}).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                status = int(response.status)
                response.read(4096)
        except urllib.error.HTTPError as exc:
            retry = exc.headers.get("Retry-After") if exc.headers is not None else None
            raise WebhookError(f"the webhook answered HTTP {exc.code}"
                               + (f" (Retry-After {retry[:20]})" if retry else "")) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WebhookError(f"the webhook is unreachable ({type(reason).__name__})") from None
        if not 200 <= status < 300:
            raise WebhookError(f"the webhook answered HTTP {status}")
        return f"webhook-{hashlib.sha256(body).hexdigest()[:20]}"
