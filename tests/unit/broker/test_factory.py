"""The broker factory: which broker and which keys, for local runs and for AWS."""

from __future__ import annotations

import pytest

from shared.broker.port import CredentialsError
from shared.venues.alpaca.keys import keys_for
from shared.venues.factory import make_broker
from shared.venues.settings import BrokerSettings


def local(**env: str) -> BrokerSettings:
    return BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", **env})


def test_local_runs_never_read_a_stages_secret_even_when_its_name_is_set():
    settings = local(ALCHEMISER_ALPACA_SECRET_NAME="alchemiser/dev/alpaca", ALCHEMISER_BROKER="alpaca")
    with pytest.raises(CredentialsError, match="APCA_API_KEY_ID"):
        keys_for(settings)


def test_local_keys_from_the_environment_are_paper_keys():
    keys = keys_for(local(ALCHEMISER_ALPACA_API_KEY="PKTESTKEY123", ALCHEMISER_ALPACA_SECRET_KEY="s3cr3t"))
    assert keys.paper and keys.api_key == "PKTESTKEY123"
    assert "PKTESTKEY123" not in repr(keys) and "s3cr3t" not in repr(keys)


def test_live_mode_with_laptop_keys_is_refused():
    with pytest.raises(CredentialsError, match="refused"):
        keys_for(local(ALCHEMISER_ALPACA_API_KEY="k", ALCHEMISER_ALPACA_SECRET_KEY="s",
                          ALCHEMISER_TRADING_MODE="live"))


def test_keys_in_the_environment_are_refused_in_aws():
    with pytest.raises(ValueError, match="refused outside local mode"):
        BrokerSettings.from_env({"ALCHEMISER_ALPACA_API_KEY": "k", "ALCHEMISER_ALPACA_SECRET_KEY": "s"})


def test_aws_without_a_secret_name_fails_closed():
    with pytest.raises(CredentialsError, match="ALCHEMISER_ALPACA_SECRET_NAME"):
        keys_for(BrokerSettings.from_env({}))


def test_the_simulated_broker_is_the_local_default(tmp_path, monkeypatch):
    settings = local(ALCHEMISER_STATE_DIR=str(tmp_path), ALCHEMISER_AS_OF="2026-11-25T10:00:00-05:00")
    broker = make_broker(settings)
    assert type(broker).__name__ == "SimulatedBroker"
    assert broker.get_account().cash == 100000
    # The simulated broker knows what the offline data knows: its ETFs and well-known tickers, not a typo...
    assert set(broker.get_assets(["SPY", "AAPL", "NOTATICKER"])) == {"SPY", "AAPL"}
    # ...unless invented histories are allowed (--allow-invented-tickers): then any valid ticker
    monkeypatch.setenv("ALCHEMISER_ALLOW_INVENTED_TICKERS", "1")
    assert set(make_broker(settings).get_assets(["SPY", "NOTATICKER"])) == {"SPY", "NOTATICKER"}


def test_an_unknown_broker_is_a_config_error_naming_the_known_venues():
    from shared.runtime.settings import SettingsError
    from shared.venues.registry import VENUES

    settings = BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_BROKER": "ibkr"})
    with pytest.raises(SettingsError) as caught:
        make_broker(settings)
    assert "ALCHEMISER_BROKER" in str(caught.value) and "'ibkr'" in str(caught.value)
    assert all(name in str(caught.value) for name in VENUES) and set(VENUES) == {"alpaca", "sim"}


def test_every_registered_venue_answers_to_its_name_and_builds_an_order_book(tmp_path):
    from shared.venues.registry import VENUES, venue_for

    settings = BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(tmp_path),
                                        "ALCHEMISER_BROKER": "sim"})
    assert all(venue.name == name for name, venue in VENUES.items())
    book = venue_for(settings).order_book(settings)
    assert type(book).__name__ == "SimulatedBroker" and book.list_open_orders() == []
