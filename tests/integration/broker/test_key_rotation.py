"""A rotated Alpaca secret reaches warm containers: once Powertools' cache of the secret expires
(max_age), the next invocation builds new Alpaca clients with the new keys.

moto Secrets Manager holds the stage's secret; the fake Alpaca server authorizes one key pair at a
time (rotating at Alpaca revokes the old pair) and records the key id of every request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.venues.alpaca.keys import CREDENTIALS_MAX_AGE_SECONDS, clear_credentials_cache
from tests.conftest import LambdaContextStub
from tests.fakes.aws_from_template import create_table
from tests.fakes.deployed_stage import SECRET, SecretCacheClock, deployed_stage
from tests.fakes.fake_alpaca import FakeAlpaca

NEW_KEY, NEW_SECRET = "PKROTATED2", "rotated-secret"


def rotate(fake: FakeAlpaca) -> None:
    """What an operator does: put the new pair in the secret; Alpaca then accepts the new pair only."""
    boto3.client("secretsmanager").put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({"api_key": NEW_KEY, "secret_key": NEW_SECRET}))
    fake.rotate_keys(NEW_KEY, NEW_SECRET)


def key_ids_since(fake: FakeAlpaca, start: int) -> set[str | None]:
    return {r.key_id for r in fake.requests[start:]}


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> SecretCacheClock:
    clock = SecretCacheClock()
    clock.install(monkeypatch)
    return clock


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, state_dir: Any, fake_alpaca: FakeAlpaca) -> Iterator[str]:
    clear_credentials_cache()
    with deployed_stage(monkeypatch, state_dir, fake_alpaca, "fake-secret") as table:
        yield table
    clear_credentials_cache()


def test_a_warm_strategy_container_uses_the_rotated_keys_once_the_secret_cache_expires(aws, fake_alpaca, later):
    from services.strategy.dependencies import clear_cache
    from services.strategy.handler import lambda_handler

    clear_cache()
    try:
        first = lambda_handler({"mode": "signal"}, LambdaContextStub())
        assert first["status"] == "success", first["message"]
        assert key_ids_since(fake_alpaca, 0) == {"PKFAKEKEY"}

        rotate(fake_alpaca)
        later.offset = timedelta(seconds=CREDENTIALS_MAX_AGE_SECONDS + 1)
        start = len(fake_alpaca.requests)
        second = lambda_handler({"mode": "signal"}, LambdaContextStub())
    finally:
        clear_cache()
    assert second["status"] == "success", second["message"]
    assert fake_alpaca.requests_to("GET /v2/calendar")[-1].key_id == NEW_KEY
    assert key_ids_since(fake_alpaca, start) == {NEW_KEY}  # a new calendar client, nothing with the old pair


def test_within_the_secret_max_age_a_warm_container_keeps_its_clients(aws, fake_alpaca, later):
    from services.execution.dependencies import dependencies
    from services.execution.settings import ExecutionSettings

    first = dependencies(ExecutionSettings.from_env())
    boto3.client("secretsmanager").put_secret_value(
        SecretId=SECRET, SecretString=json.dumps({"api_key": NEW_KEY, "secret_key": NEW_SECRET}))
    later.offset = timedelta(seconds=CREDENTIALS_MAX_AGE_SECONDS - 30)
    assert dependencies(ExecutionSettings.from_env()).broker is first.broker  # Powertools still holds the old pair
    later.offset = timedelta(seconds=CREDENTIALS_MAX_AGE_SECONDS + 1)
    assert dependencies(ExecutionSettings.from_env()).broker is not first.broker


@pytest.mark.parametrize("service", ["execution", "portfolio"])
def test_the_broker_of_a_warm_container_sends_the_new_key_id_after_a_rotation(aws, fake_alpaca, later, service):
    if service == "execution":
        from services.execution.dependencies import dependencies
        from services.execution.settings import ExecutionSettings as Settings
    else:
        from services.portfolio.dependencies import clear_cache, dependencies
        from services.portfolio.settings import PortfolioSettings as Settings  # type: ignore[assignment]

        clear_cache()
    before = dependencies(Settings.from_env()).broker.get_account()
    rotate(fake_alpaca)
    later.offset = timedelta(seconds=CREDENTIALS_MAX_AGE_SECONDS + 1)
    start = len(fake_alpaca.requests)
    after = dependencies(Settings.from_env()).broker.get_account()
    assert after.account_id == before.account_id
    [request] = fake_alpaca.requests[start:]
    assert (request.route, request.key_id, request.status) == ("GET /v2/account", NEW_KEY, 200)


def test_the_orchestrators_pnl_source_follows_a_rotated_secret(aws, fake_alpaca, later, monkeypatch):
    from services.orchestrator.dependencies import clear_cache, dependencies
    from services.orchestrator.settings import OrchestratorSettings

    fake_alpaca.set_portfolio_history(timestamp=[1764000000], equity=[100000.0], profit_loss=[0.0],
                                      profit_loss_pct=[0.0], base_value=100000.0, timeframe="1D")
    monkeypatch.setenv("ALCHEMISER_WORKFLOW_TABLE", create_table("WorkflowTable"))
    monkeypatch.setenv("ALCHEMISER_NOTIFICATION_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t")
    clear_cache()
    try:
        deps = dependencies(OrchestratorSettings.from_env())
        first = deps.history()
        rotate(fake_alpaca)
        assert dependencies(OrchestratorSettings.from_env()).history() is first  # cached secret: same client
        later.offset = timedelta(seconds=CREDENTIALS_MAX_AGE_SECONDS + 1)
        start = len(fake_alpaca.requests)
        second = dependencies(OrchestratorSettings.from_env()).history()
        assert second is not first
        second.daily_equity(period="1W", end=datetime(2026, 11, 25).date())
    finally:
        clear_cache()
    assert key_ids_since(fake_alpaca, start) == {NEW_KEY}
