"""Rotated Alpaca keys reach warm containers: adapters are cached per configuration *and* per key pair.

A function builds its Alpaca clients once per container (`PerConfiguration` in its dependencies.py),
keyed on its settings. In AWS the keys are not in the settings: they come from the stage's secret,
which Powertools Parameters re-reads after `CREDENTIALS_MAX_AGE_SECONDS` (credentials.py). Keyed on
the settings alone, a warm container would keep the clients it built with the old keys until Lambda
retired it. `PerCredentials` adds the fingerprint of the keys in use (sha256 of key id and secret,
`AlpacaKeys.fingerprint`) to the key: every invocation asks for the keys (a cache hit in Powertools
for five minutes, one Secrets Manager read after that), and a new pair builds new adapters on the
next invocation after the cache expires. The old generation is dropped; neither the keys nor the
fingerprint are logged.

Locally the keys are settings (APCA_API_KEY_ID, as SecretStr), already part of the settings' key:
the fingerprint is empty there, and wherever no Alpaca client is built.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Generic, TypeVar

from pydantic import BaseModel

from shared.broker.settings import BrokerSettings
from shared.runtime.container_cache import PerConfiguration

S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")

KEY_GENERATIONS = 2
"""Key pairs whose adapters are kept: the current one and the one before (a rotation in flight)."""


def credentials_fingerprint(settings: BrokerSettings, *, uses_alpaca: bool) -> str:
    """The fingerprint of the Alpaca keys these settings trade or read with in AWS; '' when the keys
    are part of the settings (local) or no Alpaca client is built. Raises CredentialsError (fail closed)."""
    if settings.local or not uses_alpaca:
        return ""
    from shared.broker.factory import alpaca_keys

    return alpaca_keys(settings).fingerprint


class PerCredentials(Generic[S, T]):
    """`build(settings)` once per configuration per key pair (`fingerprint(settings)`)."""

    def __init__(self, build: Callable[[S], T], *, fingerprint: Callable[[S], str], ignore: Collection[str] = (),
                 maxsize: int = 4, generations: int = KEY_GENERATIONS) -> None:
        self._build, self._fingerprint, self._ignore = build, fingerprint, tuple(ignore)
        self._maxsize, self._generations = maxsize, generations
        self._by_keys: OrderedDict[str, PerConfiguration[S, T]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, settings: S) -> T:
        keys = self._fingerprint(settings)
        with self._lock:
            cache = self._by_keys.get(keys)
            if cache is None:
                cache = self._by_keys[keys] = PerConfiguration(self._build, ignore=self._ignore,
                                                               maxsize=self._maxsize)
            self._by_keys.move_to_end(keys)
            while len(self._by_keys) > self._generations:
                self._by_keys.popitem(last=False)
        return cache(settings)

    def clear(self) -> None:
        with self._lock:
            self._by_keys.clear()
