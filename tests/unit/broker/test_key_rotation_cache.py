"""PerCredentials: adapters once per configuration per key pair; the fingerprint never holds a key."""

from __future__ import annotations

import pytest

from shared.broker.port import CredentialsError
from shared.runtime.container_cache import PerCredentials
from shared.venues.alpaca.keys import AlpacaKeys
from shared.venues.key_rotation import keys_fingerprint
from shared.venues.settings import BrokerSettings


def _settings(tmp_path, **values) -> BrokerSettings:
    return BrokerSettings.model_validate({"backend": "local", "state_dir": tmp_path, **values})


def test_a_new_key_pair_builds_new_adapters_and_the_old_generation_is_dropped(tmp_path):
    keys = {"now": "a"}
    built: list[str] = []
    cache: PerCredentials[BrokerSettings, str] = PerCredentials(
        lambda s: built.append(keys["now"]) or f"adapters-{len(built)}", fingerprint=lambda s: keys["now"],
        generations=2)
    settings = _settings(tmp_path)
    assert cache(settings) == cache(settings) == "adapters-1"
    keys["now"] = "b"
    assert cache(settings) == "adapters-2"
    keys["now"] = "a"
    assert cache(settings) == "adapters-1"  # still held: two generations
    keys["now"] = "c"
    assert cache(settings) == "adapters-3"
    keys["now"] = "b"
    assert cache(settings) == "adapters-4"  # "b" was the oldest when "c" arrived: dropped
    assert built == ["a", "b", "c", "b"]
    cache.clear()
    keys["now"] = "a"
    assert cache(settings) == "adapters-5"


def test_the_fingerprint_tells_pairs_and_modes_apart_and_shows_no_key():
    paper = AlpacaKeys("PKAAAA", "secret-1", paper=True)
    assert paper.fingerprint == AlpacaKeys("PKAAAA", "secret-1", paper=True).fingerprint
    assert paper.fingerprint != AlpacaKeys("PKAAAA", "secret-2", paper=True).fingerprint
    assert paper.fingerprint != AlpacaKeys("PKAAAA", "secret-1", paper=False).fingerprint
    assert "PKAAAA" not in paper.fingerprint and "secret-1" not in paper.fingerprint
    assert len(paper.fingerprint) == 64 and "fingerprint" not in repr(paper)


def test_no_secret_is_read_locally_or_when_no_alpaca_client_is_built(tmp_path, monkeypatch):
    import shared.venues.alpaca.keys as keys

    def never(settings):
        raise AssertionError("the secret was read")

    monkeypatch.setattr(keys, "keys_for", never)
    assert keys_fingerprint(_settings(tmp_path), ("alpaca",)) == ""  # local: keys are settings
    aws = BrokerSettings.model_validate({"backend": "aws", "state_dir": tmp_path, "alpaca_secret_name": "s"})
    assert keys_fingerprint(aws, ()) == ""


def test_in_aws_an_unreadable_secret_fails_closed(tmp_path):
    aws = BrokerSettings.model_validate({"backend": "aws", "state_dir": tmp_path})
    with pytest.raises(CredentialsError, match="no Alpaca secret configured"):
        keys_fingerprint(aws, ("alpaca",))
