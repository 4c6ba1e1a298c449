"""The functions' deployed shape on moto, for tests that run handlers as AWS runs them: the IdempotencyTable,
the bus and the stage's Alpaca secret (read through Powertools Parameters, cached `CREDENTIALS_MAX_AGE_SECONDS`),
and a clock for that cache alone, so a test can let the cached secret expire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import base as powertools_parameters
from moto import mock_aws

from tests.fakes.aws_from_template import create_table
from tests.fakes.fake_alpaca import FakeAlpaca

SECRET = "alchemiser/test/alpaca"


class SecretCacheClock:
    """Moves the clock Powertools' parameter cache reads (its `datetime.now()`), not the business clock."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        later = self

        class Shifted(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Shifted:  # type: ignore[override]
                return datetime.now(tz) + later.offset  # type: ignore[return-value]

        monkeypatch.setattr(powertools_parameters, "datetime", Shifted)


@contextmanager
def deployed_stage(monkeypatch: pytest.MonkeyPatch, state_dir: Any, fake: FakeAlpaca, secret_key: str,
                   **env: str) -> Iterator[str]:
    """The functions' AWS environment on moto: the IdempotencyTable (its name yielded), the bus, and the stage's
    secret holding `fake`'s key pair; `env` adds variables."""
    with mock_aws():
        table = create_table("IdempotencyTable")
        boto3.client("secretsmanager").create_secret(
            Name=SECRET, SecretString=json.dumps({"api_key": fake.api_key, "secret_key": secret_key}))
        boto3.client("events").create_event_bus(Name="alchemiser-trading-events-test")
        for name, value in {"ALCHEMISER_BACKEND": "aws", "ALCHEMISER_STATE_DIR": str(state_dir),
                            "ALCHEMISER_IDEMPOTENCY_TABLE": table,
                            "ALCHEMISER_EVENT_BUS_NAME": "alchemiser-trading-events-test",
                            "ALCHEMISER_ALPACA_SECRET_NAME": SECRET, "ALCHEMISER_ALPACA_TRADING_URL": fake.url,
                            "ALCHEMISER_ALPACA_DATA_URL": fake.url, "ALCHEMISER_MARKET_DATA": "offline",
                            "ALCHEMISER_AS_OF": "2026-11-25T09:35:00-05:00", **env}.items():
            monkeypatch.setenv(name, value)
        yield table
