"""Rotated Alpaca keys reach warm containers: adapters are cached per configuration *and* per key pair.

A function builds its Alpaca clients once per container (the cache in its dependencies.py),
keyed on its settings. In AWS the keys are not in the settings: they come from the stage's secret,
which Powertools Parameters re-reads after `CREDENTIALS_MAX_AGE_SECONDS` (credentials.py). Keyed on
the settings alone, a warm container would keep the clients it built with the old keys until Lambda
retired it. `PerCredentials` (shared/runtime/container_cache.py) adds the fingerprint of the keys in
use (sha256 of key id and secret, `AlpacaKeys.fingerprint`) to the key: every invocation asks for
the keys (a cache hit in Powertools for five minutes, one Secrets Manager read after that), and a
new pair builds new adapters on the next invocation after the cache expires. The old generation is
dropped; neither the keys nor the fingerprint are logged.

Locally the keys are settings (APCA_API_KEY_ID, as SecretStr), already part of the settings' key:
the fingerprint is empty there, and wherever no Alpaca client is built.
"""

from __future__ import annotations

from shared.broker.settings import BrokerSettings


def credentials_fingerprint(settings: BrokerSettings, *, uses_alpaca: bool) -> str:
    """The fingerprint of the Alpaca keys these settings trade or read with in AWS; '' when the keys
    are part of the settings (local) or no Alpaca client is built. Raises CredentialsError (fail closed)."""
    if settings.local or not uses_alpaca:
        return ""
    from shared.broker.factory import alpaca_keys

    return alpaca_keys(settings).fingerprint


def broker_keys_in_use(settings: BrokerSettings) -> str:
    """The fingerprint of the keys the broker (and its market data) uses: the portfolio's and execution's
    `keys_in_use`."""
    uses_alpaca = settings.broker_kind == "alpaca" or settings.market_data_source == "alpaca"
    return credentials_fingerprint(settings, uses_alpaca=uses_alpaca)
