"""Alpaca keys from AWS Secrets Manager: one secret per stage, through Powertools Parameters.

`load_alpaca_credentials` reads the secret with Powertools' `get_secret(name, transform="json",
max_age=CREDENTIALS_MAX_AGE_SECONDS)`: a container reuses what it read for five minutes, then reads
the secret again on its next call, so a rotated secret reaches every function that asks for its
keys within five minutes: the functions cache their Alpaca clients per key pair
(`AlpacaKeys.fingerprint`, shared/venues/key_rotation.py), so a warm container builds new ones.

The secret is a JSON object:

    {
      "api_key": "PK...",            paper key id      } the paper pair
      "secret_key": "...",           paper secret      }
      "live_api_key": "AK...",       live key id       } optional: the live pair
      "live_secret_key": "..."       live secret       }
    }

Either pair may be absent, but a pair is all or nothing, and at least one pair is needed.
Unknown fields are ignored, except `paper`: the old single-pair layout marked live keys with
`"paper": false`, which is refused (put live keys under live_api_key / live_secret_key) so
that keys are never used for a mode they were not filed under.

Trading mode rule (`keys_for_mode`): live only when the stage is configured live (the
`trading_mode` setting) and the secret has the live pair; paper otherwise. A stage configured
live whose secret has no live keys is an error, never a quiet fall back to paper.

Nothing here logs, and no repr shows a key; every key pair built is registered with
shared/runtime/redaction.py, so the functions' log stream masks it, whole or in part, whoever writes it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from shared.venues.settings import BrokerSettings

from shared.broker.port import CredentialsError

TradingMode = Literal["paper", "live"]

CREDENTIALS_MAX_AGE_SECONDS = 300
"""How long a container reuses the secret it read (Powertools' cache) before reading it again."""


@dataclass(frozen=True)
class AlpacaKeys:
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    paper: bool

    def __post_init__(self) -> None:
        from shared.runtime.redaction import register

        register(self.api_key, self.secret_key)  # masked in every log line from now on, whole or in part

    def __repr__(self) -> str:
        return f"AlpacaKeys(paper={self.paper}, api_key=***, secret_key=***)"

    __str__ = __repr__

    @property
    def fingerprint(self) -> str:
        """sha256 of the key id and the secret: tells two key pairs apart (a rotated secret) without
        holding either in a cache key. Never logged."""
        return hashlib.sha256(f"{self.paper}\0{self.api_key}\0{self.secret_key}".encode()).hexdigest()


@dataclass(frozen=True)
class AlpacaCredentials:
    secret_name: str
    paper_keys: AlpacaKeys | None = field(repr=False)
    live_keys: AlpacaKeys | None = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"AlpacaCredentials(secret_name={self.secret_name!r}, "
            f"has_paper_keys={self.paper_keys is not None}, has_live_keys={self.live_keys is not None})"
        )

    __str__ = __repr__

    def keys_for_mode(self, trading_mode: str) -> AlpacaKeys:
        """The keys to trade with in `trading_mode` ("paper" or "live"); fails closed."""
        if trading_mode == "live":
            if self.live_keys is None:
                raise CredentialsError(
                    f"trading_mode is live but secret {self.secret_name!r} has no live keys "
                    "(live_api_key / live_secret_key); refusing to trade rather than fall back to paper"
                )
            return self.live_keys
        if trading_mode == "paper":
            if self.paper_keys is None:
                raise CredentialsError(
                    f"trading_mode is paper but secret {self.secret_name!r} has no paper keys "
                    "(api_key / secret_key); live keys are never used for paper trading"
                )
            return self.paper_keys
        raise CredentialsError(f"unknown trading_mode {trading_mode!r} (expected 'paper' or 'live')")


_parsed: dict[str, tuple[Any, AlpacaCredentials]] = {}
"""Per secret name: the value Powertools last returned and what it parsed to (no re-parse while cached)."""
_lock = threading.Lock()
_providers: dict[int, Any] = {}
"""A SecretsProvider per explicit client (tests); the default path uses Powertools' own provider."""


def clear_credentials_cache() -> None:
    """Forget every secret read (Powertools' cache included): the next call reads Secrets Manager."""
    from aws_lambda_powertools.utilities.parameters import clear_caches
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    with _lock:
        _parsed.clear()
        _providers.clear()
        clear_caches()  # type: ignore[no-untyped-call]
        DEFAULT_PROVIDERS.pop("secrets", None)  # its boto3 client may belong to another test's mock


def load_alpaca_credentials(secret_name: str, *, client: Any = None,
                            max_age: int = CREDENTIALS_MAX_AGE_SECONDS) -> AlpacaCredentials:
    """Read and validate the stage's secret, cached `max_age` seconds per container by Powertools."""
    data = _fetch(secret_name, client, max_age)
    with _lock:
        held = _parsed.get(secret_name)
        if held is not None and held[0] is data:
            return held[1]
    credentials = parse_secret_data(secret_name, data)
    with _lock:
        _parsed[secret_name] = (data, credentials)
    return credentials


def _fetch(secret_name: str, client: Any, max_age: int) -> Any:
    from aws_lambda_powertools.utilities.parameters import (
        GetParameterError,
        SecretsProvider,
        TransformParameterError,
        get_secret,
    )

    try:
        if client is None:
            return get_secret(secret_name, transform="json", max_age=max_age)
        with _lock:
            provider = _providers.setdefault(id(client), SecretsProvider(boto3_client=client))
        return provider.get(secret_name, transform="json", max_age=max_age)
    except TransformParameterError:
        # never chain: the decoder's error may quote the secret's text
        raise CredentialsError(f"secret {secret_name!r} is not valid JSON") from None
    except GetParameterError as exc:
        cause = exc.__cause__ or exc.__context__  # Powertools raises it inside its except block
        error = getattr(cause, "response", None)
        code = error.get("Error", {}).get("Code") if isinstance(error, dict) else None
        raise CredentialsError(
            f"cannot read secret {secret_name!r}: {code or type(cause or exc).__name__}") from exc


def _pair(
    data: dict[str, Any], key_field: str, secret_field: str, secret_name: str
) -> tuple[str, str] | None:
    api_key, secret_key = data.get(key_field), data.get(secret_field)
    if api_key in (None, "") and secret_key in (None, ""):
        return None
    if (
        not isinstance(api_key, str)
        or not api_key.strip()
        or not isinstance(secret_key, str)
        or not (secret_key.strip())
    ):
        raise CredentialsError(
            f"secret {secret_name!r}: {key_field} and {secret_field} must both be non-empty strings"
        )
    return api_key.strip(), secret_key.strip()


def parse_secret(secret_name: str, text: str) -> AlpacaCredentials:
    try:
        data = json.loads(text)
    except ValueError:
        # never chain: the decoder's error carries the secret's text
        raise CredentialsError(f"secret {secret_name!r} is not valid JSON") from None
    return parse_secret_data(secret_name, data)


def parse_secret_data(secret_name: str, data: Any) -> AlpacaCredentials:
    """Validate the secret's decoded JSON (see the module docstring for the layout)."""
    if not isinstance(data, dict):
        raise CredentialsError(f"secret {secret_name!r} must be a JSON object")
    if data.get("paper", True) is not True:
        raise CredentialsError(
            f'secret {secret_name!r} has "paper": false; put live keys under live_api_key / live_secret_key'
        )
    paper = _pair(data, "api_key", "secret_key", secret_name)
    live = _pair(data, "live_api_key", "live_secret_key", secret_name)
    if paper is None and live is None:
        raise CredentialsError(
            f"secret {secret_name!r} has no Alpaca keys (api_key/secret_key, live_api_key/live_secret_key)"
        )
    return AlpacaCredentials(
        secret_name=secret_name,
        paper_keys=None if paper is None else AlpacaKeys(*paper, paper=True),
        live_keys=None if live is None else AlpacaKeys(*live, paper=False),
    )


def keys_for(settings: BrokerSettings) -> AlpacaKeys:
    """Locally: keys from the environment only (a laptop never reaches into a deployed stage's secret).
    In AWS: the stage's secret, with live keys only for a live stage (fails closed)."""
    if settings.local:
        if not (settings.alpaca_api_key and settings.alpaca_secret_key):
            raise CredentialsError("no Alpaca keys: set APCA_API_KEY_ID and APCA_API_SECRET_KEY (paper keys)")
        if settings.trading_mode == "live":
            raise CredentialsError("live trading from a laptop's environment keys is refused; use a deployed stage")
        return AlpacaKeys(settings.alpaca_api_key.get_secret_value(), settings.alpaca_secret_key.get_secret_value(),
                          paper=True)
    if not settings.alpaca_secret_name:
        raise CredentialsError("no Alpaca secret configured: set ALCHEMISER_ALPACA_SECRET_NAME")
    return load_alpaca_credentials(settings.alpaca_secret_name).keys_for_mode(settings.trading_mode)
