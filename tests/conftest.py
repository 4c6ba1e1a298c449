"""Fixtures every test folder may use: fake AWS credentials, a state dir, a Lambda context."""

from __future__ import annotations

import functools
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEST_EVENTS = PROJECT_ROOT / "test-events"
TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"


def _make_moto_dynamodb_writes_atomic() -> None:
    """DynamoDB applies each conditional write atomically; moto 5.2.5 checks the condition and then
    writes with no lock, so two threads can both pass `attribute_not_exists`. Serialising moto's
    write operations restores DynamoDB's guarantee, so concurrency tests exercise our code, not a
    race that only exists in moto."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)


_make_moto_dynamodb_writes_atomic()


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach a real AWS account: fake credentials and a fixed region. The container's
    cached boto3 clients (shared/runtime/aws_clients.py) are dropped before and after every test, so
    a client built under one test's mock and environment never serves another. Nor do the keys one test
    registered for masking (shared/runtime/redaction.py) mask another test's log lines."""
    from shared.runtime import aws_clients, redaction

    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Alchemiser")
    aws_clients.clear()
    yield
    aws_clients.clear()
    redaction.forget()


@dataclass
class LambdaContextStub:
    function_name: str = "alchemiser-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:alchemiser-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 120_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> LambdaContextStub:
    return LambdaContextStub()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


def load_test_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEST_EVENTS / name).read_text())
    return data


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> Iterator[Path]:
    """Handler settings for local mode (embedded stores and the outbox under `state_dir`)."""
    monkeypatch.setenv("ALCHEMISER_BACKEND", "local")
    monkeypatch.setenv("ALCHEMISER_STATE_DIR", str(state_dir))
    yield state_dir
