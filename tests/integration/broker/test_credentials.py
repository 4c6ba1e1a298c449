"""Alpaca credentials from Secrets Manager (moto): validation, caching, the live/paper rule, no key leaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.broker.port import CredentialsError
from shared.venues.alpaca.keys import (
    clear_credentials_cache,
    load_alpaca_credentials,
    parse_secret,
)

PAPER = {"api_key": "PKPAPERKEY", "secret_key": "paper-secret-value"}
LIVE = {"live_api_key": "AKLIVEKEY", "live_secret_key": "live-secret-value"}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clear_credentials_cache()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
    clear_credentials_cache()


def put(client: Any, name: str, value: Any) -> None:
    client.create_secret(Name=name, SecretString=value if isinstance(value, str) else json.dumps(value))


def test_paper_stage_uses_paper_keys(secrets: Any) -> None:
    put(secrets, "alchemiser/dev/alpaca", {**PAPER, **LIVE})
    keys = load_alpaca_credentials("alchemiser/dev/alpaca", client=secrets).keys_for_mode("paper")
    assert (keys.api_key, keys.secret_key, keys.paper) == ("PKPAPERKEY", "paper-secret-value", True)


def test_live_stage_with_live_keys_uses_live_keys(secrets: Any) -> None:
    put(secrets, "alchemiser/prod/alpaca", {**PAPER, **LIVE})
    keys = load_alpaca_credentials("alchemiser/prod/alpaca", client=secrets).keys_for_mode("live")
    assert (keys.api_key, keys.secret_key, keys.paper) == ("AKLIVEKEY", "live-secret-value", False)


def test_live_stage_without_live_keys_fails_closed(secrets: Any) -> None:
    put(secrets, "alchemiser/prod/alpaca", PAPER)
    credentials = load_alpaca_credentials("alchemiser/prod/alpaca", client=secrets)
    with pytest.raises(CredentialsError, match=r"no live keys.*refusing"):
        credentials.keys_for_mode("live")


def test_paper_stage_never_uses_live_keys(secrets: Any) -> None:
    put(secrets, "live-only", LIVE)
    with pytest.raises(CredentialsError, match="no paper keys"):
        load_alpaca_credentials("live-only", client=secrets).keys_for_mode("paper")


def test_unknown_mode_is_refused(secrets: Any) -> None:
    put(secrets, "s", PAPER)
    with pytest.raises(CredentialsError, match="unknown trading_mode"):
        load_alpaca_credentials("s", client=secrets).keys_for_mode("Live")


def test_cached_per_container_by_secret_name(secrets: Any) -> None:
    put(secrets, "a", PAPER)
    first = load_alpaca_credentials("a", client=secrets)
    secrets.put_secret_value(SecretId="a", SecretString=json.dumps({"api_key": "PKNEW", "secret_key": "n"}))
    assert load_alpaca_credentials("a", client=secrets) is first
    clear_credentials_cache()
    assert load_alpaca_credentials("a", client=secrets).keys_for_mode("paper").api_key == "PKNEW"


class _Later:
    """Powertools' cache clock (datetime.now in parameters.base), moved forward by `seconds`."""

    def __init__(self, seconds: float) -> None:
        import datetime as real

        self._real, self._shift = real.datetime, real.timedelta(seconds=seconds)

    def now(self, tz: Any = None) -> Any:
        return self._real.now(tz) + self._shift


def test_a_rotated_secret_is_read_again_once_the_cache_age_passes(secrets: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities.parameters import base

    from shared.venues.alpaca.keys import CREDENTIALS_MAX_AGE_SECONDS

    put(secrets, "rotated", PAPER)
    assert load_alpaca_credentials("rotated", client=secrets).keys_for_mode("paper").api_key == "PKPAPERKEY"
    secrets.put_secret_value(SecretId="rotated", SecretString=json.dumps({"api_key": "PKROTATED", "secret_key": "r"}))
    monkeypatch.setattr(base, "datetime", _Later(CREDENTIALS_MAX_AGE_SECONDS - 5))
    assert load_alpaca_credentials("rotated", client=secrets).keys_for_mode("paper").api_key == "PKPAPERKEY"
    monkeypatch.setattr(base, "datetime", _Later(CREDENTIALS_MAX_AGE_SECONDS + 1))
    assert load_alpaca_credentials("rotated", client=secrets).keys_for_mode("paper").api_key == "PKROTATED"
    assert 60 <= CREDENTIALS_MAX_AGE_SECONDS <= 900, "keys: minutes, as docs/deploy.md says"


def test_the_default_path_reads_through_powertools_get_secret(secrets: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities import parameters

    calls: list[tuple[str, Any, Any]] = []
    real = parameters.get_secret

    def spy(name: str, **kwargs: Any) -> Any:
        calls.append((name, kwargs.get("transform"), kwargs.get("max_age")))
        return real(name, **kwargs)

    monkeypatch.setattr(parameters, "get_secret", spy)
    put(secrets, "via-powertools", PAPER)
    load_alpaca_credentials("via-powertools")
    load_alpaca_credentials("via-powertools")
    assert calls == [("via-powertools", "json", 300)] * 2
    assert len(secrets.list_secret_version_ids(SecretId="via-powertools")["Versions"]) == 1


def test_invalid_json_in_the_secret_is_refused_without_quoting_it(secrets: Any) -> None:
    put(secrets, "bad", "not json PKPAPERKEY")
    with pytest.raises(CredentialsError, match="not valid JSON") as caught:
        load_alpaca_credentials("bad", client=secrets)
    assert "PKPAPERKEY" not in str(caught.value) and caught.value.__cause__ is None


def test_default_client_is_built_from_boto3(secrets: Any) -> None:
    put(secrets, "default-client", PAPER)
    assert load_alpaca_credentials("default-client").keys_for_mode("paper").api_key == "PKPAPERKEY"


def test_missing_secret_is_a_clear_error(secrets: Any) -> None:
    with pytest.raises(CredentialsError, match="cannot read secret 'nope': ResourceNotFoundException"):
        load_alpaca_credentials("nope", client=secrets)


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json PKPAPERKEY", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({}), "no Alpaca keys"),
        (json.dumps({"api_key": "PK"}), "must both be non-empty"),
        (json.dumps({**PAPER, "live_api_key": "AK"}), "live_secret_key must both"),
        (json.dumps({**PAPER, "paper": False}), '"paper": false'),
    ],
)
def test_malformed_secrets_are_refused(text: str, message: str) -> None:
    with pytest.raises(CredentialsError, match=message) as caught:
        parse_secret("s", text)
    assert "PKPAPERKEY" not in str(caught.value) and caught.value.__cause__ is None


def test_reprs_never_show_keys(secrets: Any) -> None:
    put(secrets, "r", {**PAPER, **LIVE})
    credentials = load_alpaca_credentials("r", client=secrets)
    shown = " ".join(
        [
            repr(credentials),
            str(credentials),
            repr(credentials.keys_for_mode("paper")),
            str(credentials.keys_for_mode("live")),
            f"{credentials.live_keys}",
        ]
    )
    for secret in (*PAPER.values(), *LIVE.values()):
        assert secret not in shown
    assert "has_live_keys=True" in repr(credentials)
