"""The webhook channel against a local HTTP fake: one POST per notification, exactly once, alongside
the email; the URL from Secrets Manager (moto) and never in an error, a log line or a repr."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from services.orchestrator.adapters.webhook_notifier import (
    MAX_TEXT_CHARS,
    WebhookError,
    WebhookNotifier,
    check_url,
    webhook_url_from_secret,
)
from services.orchestrator.dependencies import CLAIMS_OPERATION, clear_cache
from services.orchestrator.notifications import Channels, NotificationDelivery
from services.orchestrator.workflow_record import Notification
from shared.runtime.idempotency import IdempotentOperation, SqlitePersistenceLayer
from tests.conftest import LambdaContextStub, load_test_event
from tests.fakes.facts import record_published
from tests.integration.orchestrator.test_handler_on_aws import Aws, aws  # noqa: F401 (fixture)
from tests.unit.orchestrator.support import FakeNotifier

NOTE = Notification(key="error:ev-1", kind="error", subject="Alchemiser [paper] ERROR", message="it broke")


@dataclass
class FakeWebhook:
    """A Slack-style incoming webhook on 127.0.0.1: records every POST, answers from `statuses`."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies]


@pytest.fixture
def webhook() -> Iterator[FakeWebhook]:
    fake = FakeWebhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            status = fake.statuses.pop(0) if fake.statuses else 200
            if status == 200:
                fake.bodies.append(body)
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "3")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/SECRETTOKEN"
    yield fake
    server.shutdown()
    server.server_close()


def _channels(tmp_path: Any, email: FakeNotifier, url: str) -> Channels:
    claims = IdempotentOperation(CLAIMS_OPERATION, SqlitePersistenceLayer(tmp_path / "state.sqlite"),
                                 expires_after_seconds=3600)
    return Channels([NotificationDelivery(email, claims),
                     NotificationDelivery(WebhookNotifier(lambda: url), claims, channel="webhook")])


# ------------------------------------------------------------------ the notifier
def test_the_webhook_gets_one_slack_style_post_per_message(webhook):
    message_id = WebhookNotifier(lambda: webhook.url).send("Subject line", "body\nline 2")
    assert webhook.bodies == [{"text": "*Subject line*\nbody\nline 2"}]
    assert message_id.startswith("webhook-")


def test_a_refused_post_raises_without_the_url(webhook):
    webhook.statuses = [500]
    with pytest.raises(WebhookError, match="HTTP 500") as caught:
        WebhookNotifier(lambda: webhook.url).send("s", "m")
    assert "SECRETTOKEN" not in str(caught.value) and "127.0.0.1" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__, "the HTTP error holds the URL"


def test_a_rate_limited_post_says_when_to_retry(webhook):
    webhook.statuses = [429]
    with pytest.raises(WebhookError, match=r"HTTP 429 \(Retry-After 3\)"):
        WebhookNotifier(lambda: webhook.url).send("s", "m")


def test_an_unreachable_webhook_raises_without_the_url():
    with pytest.raises(WebhookError, match="unreachable") as caught:
        WebhookNotifier(lambda: "http://127.0.0.1:9/services/SECRETTOKEN", timeout_seconds=2).send("s", "m")
    assert "SECRETTOKEN" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://hooks.slack.com/services/SECRETTOKEN", "ftp://x/SECRETTOKEN", "SECRETTOKEN"])
def test_only_https_urls_are_used_outside_loopback(url):
    with pytest.raises(WebhookError, match="https") as caught:
        check_url(url)
    assert "SECRETTOKEN" not in str(caught.value)
    check_url("https://hooks.slack.com/services/T/B/X")


def test_a_long_message_is_cut_to_slacks_limit(webhook):
    WebhookNotifier(lambda: webhook.url).send("s", "x" * 100_000)
    (text,) = webhook.texts()
    assert len(text) == MAX_TEXT_CHARS and text.endswith("[message truncated]")


def test_the_repr_never_shows_the_url(webhook):
    assert "SECRETTOKEN" not in repr(WebhookNotifier(lambda: webhook.url))


# ------------------------------------------------------------------ exactly once, per channel
def test_each_channel_gets_the_message_exactly_once(tmp_path, webhook):
    email = FakeNotifier()
    first = _channels(tmp_path, email, webhook.url).deliver(NOTE, context=LambdaContextStub())
    second = _channels(tmp_path, email, webhook.url).deliver(NOTE, context=LambdaContextStub())  # a new container
    assert (first.duplicate, second.duplicate) == (False, True)
    assert first.message_id == "msg-1" and len(email.sent) == 1
    assert webhook.texts() == ["*Alchemiser [paper] ERROR*\nit broke"]


def test_a_failed_webhook_is_retried_without_sending_the_email_again(tmp_path, webhook):
    email = FakeNotifier()
    webhook.statuses = [503]
    with pytest.raises(WebhookError):
        _channels(tmp_path, email, webhook.url).deliver(NOTE, context=LambdaContextStub())
    assert len(email.sent) == 1 and webhook.bodies == []
    retried = _channels(tmp_path, email, webhook.url).deliver(NOTE, context=LambdaContextStub())
    assert retried.duplicate is False
    assert len(email.sent) == 1 and len(webhook.bodies) == 1
    assert _channels(tmp_path, email, webhook.url).deliver(NOTE, context=LambdaContextStub()).duplicate is True
    assert len(webhook.bodies) == 1


def test_the_email_claim_key_is_unchanged_by_the_webhook_channel():
    """Claims recorded before the webhook existed still count: the email's key is the bare key."""
    claims = IdempotentOperation(CLAIMS_OPERATION, None, expires_after_seconds=1)  # type: ignore[arg-type]
    assert NotificationDelivery(FakeNotifier(), claims).claim_key(NOTE) == NOTE.key
    assert NotificationDelivery(FakeNotifier(), claims, channel="webhook").claim_key(NOTE) == f"{NOTE.key}#webhook"


# ------------------------------------------------------------------ the URL from Secrets Manager
def test_the_url_is_read_from_the_secret(aws, webhook):  # noqa: F811 (fixture)
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="alchemiser/dev/webhook", SecretString=json.dumps({"url": webhook.url}))
    assert webhook_url_from_secret("alchemiser/dev/webhook", client=secrets)() == webhook.url
    secrets.create_secret(Name="no-url", SecretString=json.dumps({"link": webhook.url}))
    with pytest.raises(WebhookError, match='no "url"') as caught:
        webhook_url_from_secret("no-url", client=secrets)()
    assert "SECRETTOKEN" not in str(caught.value)
    with pytest.raises(WebhookError, match="cannot read secret 'missing': ResourceNotFoundException"):
        webhook_url_from_secret("missing", client=secrets)()


def test_the_deployed_orchestrator_notifies_the_topic_and_the_webhook_once_each(aws, webhook, lambda_context,  # noqa: F811
                                                                                 monkeypatch, capsys):
    from services.orchestrator.handler import lambda_handler
    from shared.venues.alpaca.keys import clear_credentials_cache

    clear_credentials_cache()  # Powertools' default providers: built inside this test's moto
    boto3.client("secretsmanager").create_secret(Name="alchemiser/dev/webhook",
                                                 SecretString=json.dumps({"url": webhook.url}))
    monkeypatch.setenv("ALCHEMISER_WEBHOOK_SECRET_NAME", "alchemiser/dev/webhook")
    clear_cache()
    event = load_test_event("eventbridge-error-notification.json")
    record_published(event)  # as the orchestrator records what it publishes
    assert lambda_handler(event, lambda_context)["status"] == "success"
    assert lambda_handler(event, lambda_context)["status"] == "duplicate"
    (subject, _), = aws.notifications()
    (text,) = webhook.texts()
    assert text.startswith(f"*{subject}*") and "Test error" in text
    logged = capsys.readouterr()
    assert "SECRETTOKEN" not in logged.out + logged.err
    clear_credentials_cache()
