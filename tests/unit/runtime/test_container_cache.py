"""Adapters are built once per configuration; secrets count, the ignored clock does not."""

from __future__ import annotations

from shared.runtime.container_cache import PerConfiguration, configuration_key
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
