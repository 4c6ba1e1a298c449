"""Adapters are built once per configuration; secrets count, the ignored clock does not."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.runtime.container_cache import OnFirstUse, PerConfiguration, configuration_key
from shared.venues.settings import BrokerSettings


def settings(**env: str) -> BrokerSettings:
    return BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", **env})


def test_same_configuration_builds_once_and_another_builds_again():
    built: list[str] = []
    cache = PerConfiguration(lambda s: built.append(str(s.state_dir)) or len(built), maxsize=2)
    a, b = settings(ALCHEMISER_STATE_DIR="/a"), settings(ALCHEMISER_STATE_DIR="/b")
    assert (cache(a), cache(a), cache(b)) == (1, 1, 2)
    assert built == ["/a", "/b"]


def test_ignored_fields_share_a_build_and_the_oldest_is_evicted():
    cache = PerConfiguration(lambda s: object(), ignore={"as_of"}, maxsize=1)
    morning = settings(ALCHEMISER_AS_OF="2026-11-25T09:35:00-05:00")
    noon = settings(ALCHEMISER_AS_OF="2026-11-25T12:00:00-05:00")
    assert cache(morning) is cache(noon)
    other = settings(ALCHEMISER_STATE_DIR="/elsewhere")
    first = cache(morning)
    cache(other)
    assert cache(morning) is not first


def test_two_key_pairs_never_share_a_build_and_the_key_holds_no_secret():
    one = settings(ALCHEMISER_ALPACA_API_KEY="PKONE", ALCHEMISER_ALPACA_SECRET_KEY="s1")
    two = settings(ALCHEMISER_ALPACA_API_KEY="PKTWO", ALCHEMISER_ALPACA_SECRET_KEY="s2")
    assert configuration_key(one) != configuration_key(two)
    assert "PKONE" not in configuration_key(one) and "s1" not in configuration_key(one)


def test_on_first_use_builds_on_the_first_call_only():
    built: list[int] = []
    lazy = OnFirstUse(lambda: built.append(len(built)) or len(built))
    assert built == []
    assert lazy() == 1
    assert lazy() == 1
    assert built == [0]


def test_on_first_use_builds_again_when_the_version_changes():
    version = ["keys-1"]
    built: list[str] = []

    def build() -> str:
        built.append(version[0])
        return f"client for {version[0]}"

    lazy = OnFirstUse(build, version=lambda: version[0])
    assert lazy() == lazy() == "client for keys-1"
    version[0] = "keys-2"
    assert lazy() == "client for keys-2"
    assert built == ["keys-1", "keys-2"]


def test_on_first_use_keeps_no_failed_build():
    attempts: list[int] = []

    def build() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("the files are not there yet")
        return "loaded"

    lazy = OnFirstUse(build)
    with pytest.raises(OSError):
        lazy()
    assert lazy() == "loaded"
    assert len(attempts) == 2


def test_on_first_use_builds_once_under_concurrent_first_calls():
    started = threading.Barrier(8)
    builds: list[int] = []

    def build() -> int:
        builds.append(1)
        time.sleep(0.01)  # a slow build: the others arrive while it runs
        return 42

    lazy = OnFirstUse(build)

    def call() -> int:
        started.wait()
        return lazy()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: call(), range(8)))
    assert results == [42] * 8
    assert len(builds) == 1
