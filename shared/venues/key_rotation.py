"""Rotated keys reach warm containers: adapters are cached per configuration *and* per key pair.

A function builds its venue clients once per container (the cache in its dependencies.py), keyed on its
settings. In AWS the keys are not in the settings: they come from the stage's secret, which Powertools
Parameters re-reads after `CREDENTIALS_MAX_AGE_SECONDS` (shared/venues/alpaca/keys.py). Keyed on the settings
alone, a warm container would keep the clients it built with the old keys until Lambda retired it.
`PerCredentials` (shared/runtime/container_cache.py) adds the fingerprint of the keys in use (each venue's
`keys_fingerprint`: for Alpaca sha256 of key id and secret, `AlpacaKeys.fingerprint`) to the key: every
invocation asks for the keys (a cache hit in Powertools for five minutes, one Secrets Manager read after that),
and a new pair builds new adapters on the next invocation after the cache expires. The old generation is
dropped; neither the keys nor the fingerprint are logged.

Locally the keys are settings (APCA_API_KEY_ID, as SecretStr), already part of the settings' key: the
fingerprint is empty there, and wherever no venue client is built.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.venues.registry import VENUES
from shared.venues.settings import BrokerSettings


def keys_fingerprint(settings: BrokerSettings, names: Iterable[str]) -> str:
    """The fingerprint of the keys of the venues `names` (the broker, the market data source, the calendar
    source: names that are no venue, such as 'offline', are skipped); '' when no venue with keys is used or the
    keys are part of the settings (local). Raises CredentialsError (fail closed)."""
    if settings.local:
        return ""
    return "".join(VENUES[name].keys_fingerprint(settings) for name in sorted(set(names) & VENUES.keys()))


def broker_keys_in_use(settings: BrokerSettings) -> str:
    """The fingerprint of the keys the broker (and its market data) uses: the portfolio's and execution's
    `keys_in_use`."""
    return keys_fingerprint(settings, (settings.broker_kind, settings.market_data_source))
