"""One boto3 client per AWS service per container, shared by every adapter that talks to it.

Building a boto3 client costs tens of milliseconds of a cold start (a session, its loaders, the
service model); left to themselves the idempotency layer, the workflow facts, the turnover ledger,
the workflow guard and the publisher would each build their own. `client("dynamodb")` builds one on
first use and hands the same one out afterwards.

The cache is keyed on what decides where a client sends its requests: the service, the region
(the argument, else `AWS_DEFAULT_REGION` as boto3 reads it) and every `AWS_ENDPOINT_URL*` variable
(boto3 resolves the endpoint from them itself: the client is built with boto3's own defaults, so the
behaviour is boto3's). Change any of them and the next call builds a new client. Credentials are
not part of the key: boto3 refreshes a role's credentials inside the client.

Tests: moto's mocks intercept every client, but a client built in one test must not serve the next
(another region, another endpoint, fake credentials set per test); tests/conftest.py calls `clear()`
around every test. Adapters keep their `client=` parameters, so a test may pass its own.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"
_lock = threading.Lock()


def client(service_name: str, region: str | None = None) -> Any:
    """The container's boto3 client for `service_name` (in `region`, default: the environment's)."""
    where = region if region is not None else os.environ.get("AWS_DEFAULT_REGION")
    endpoints = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_ENDPOINT_PREFIX)))
    with _lock:  # building clients from boto3's default session is not thread-safe
        return _build(service_name, region, where, endpoints)


def given_or_shared(service_name: str, given: Any = None) -> Any:
    """`given` (a test's own client) when there is one, else the container's client for `service_name`:
    what every adapter's `client=None` parameter means."""
    return given if given is not None else client(service_name)


@lru_cache(maxsize=32)
def _build(service_name: str, region: str | None, where: str | None,
           endpoints: tuple[tuple[str, str], ...]) -> Any:
    """`where` and `endpoints` key the cache only: boto3 reads them from the environment itself."""
    import boto3

    if region is None:
        return boto3.client(service_name)  # type: ignore[call-overload]
    return boto3.client(service_name, region_name=region)  # type: ignore[call-overload]


def clear() -> None:
    """Forget every cached client (tests: one mock's clients never serve the next)."""
    with _lock:
        _build.cache_clear()
