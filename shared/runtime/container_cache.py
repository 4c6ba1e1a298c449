"""Adapters built once per container per configuration.

A Lambda container reuses its clients across invocations; a local run may change the settings
between invocations (another state directory, a moved clock), and then needs fresh adapters. The
key is the settings' JSON; secrets, which the JSON masks, enter as a digest so two key pairs never
share a client, and the secrets themselves are not kept in the key.

`PerCredentials` adds the keys that are not settings (the stage's secret in AWS, re-read after its
max age): every service's dependencies.py caches through it (CONTRIBUTING.md, "A service").
`OnFirstUse` is the same idea one level down: an adapter a container needs only sometimes (the
orchestrator's notification delivery and P&L history, the strategies' parsed files), built by
the first call that needs it and again when its version (the keys' fingerprint) changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, SecretStr

S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")


def configuration_key(settings: BaseModel, ignore: Collection[str] = ()) -> str:
    secrets = [value.get_secret_value() for name in type(settings).model_fields
               if isinstance(value := getattr(settings, name), SecretStr)]
    digest = hashlib.sha256("\0".join(secrets).encode()).hexdigest()
    return f"{settings.model_dump_json(exclude=set(ignore))}|{digest}"


class PerConfiguration(Generic[S, T]):
    """`build(settings)` once per distinct configuration, least recently used evicted."""

    def __init__(self, build: Callable[[S], T], *, ignore: Collection[str] = (), maxsize: int = 4) -> None:
        self._build, self._ignore, self._maxsize = build, frozenset(ignore), maxsize
        self._cache: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, settings: S) -> T:
        key = configuration_key(settings, self._ignore)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        built = self._build(settings)  # outside the lock: building may do I/O
        with self._lock:
            self._cache.setdefault(key, built)
            self._cache.move_to_end(key)
            while len(self._cache) > self._maxsize:
                self._cache.popitem(last=False)
            return self._cache[key]

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


KEY_GENERATIONS = 2
"""Key pairs whose adapters are kept: the current one and the one before (a rotation in flight)."""


class PerCredentials(Generic[S, T]):
    """`build(settings)` once per configuration per key pair (`fingerprint(settings)`: the fingerprint of
    the Alpaca keys the adapters use, shared/venues/key_rotation.py; '' where none are used)."""

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


class OnFirstUse(Generic[T]):
    """`build()` on the first call, then the same value; built again when `version()` differs from the
    version it was built at (the fingerprint of the keys it uses; '' for "never"). A failed build is
    not kept: the next call tries again."""

    def __init__(self, build: Callable[[], T], *, version: Callable[[], str] = lambda: "") -> None:
        self._build, self._version = build, version
        self._built: tuple[str, T] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        version = self._version()
        with self._lock:  # one build at a time: the first caller builds, the others wait for it
            if self._built is None or self._built[0] != version:
                self._built = None  # the old version's adapter is never used again
                self._built = (version, self._build())
            return self._built[1]


class _HasSettings(Protocol):
    @property
    def settings(self) -> BaseModel: ...


D = TypeVar("D", bound=_HasSettings)


def with_settings(cached: D, settings: BaseModel) -> D:
    """The container's cached dependencies carrying this invocation's `settings` (its clock): the
    same object when they are the settings it was built with, a copy sharing its adapters otherwise."""
    if cached.settings == settings:
        return cached
    return dataclasses.replace(cached, settings=settings)  # type: ignore[type-var]
