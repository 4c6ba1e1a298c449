"""The fake market-data server itself answers as Alpaca does (raw HTTP, no alpaca-py)."""

from __future__ import annotations

from datetime import date

import requests

from tests.fakes.fake_alpaca_data import FakeAlpacaDataServer


def get(fake: FakeAlpacaDataServer, **params: str) -> requests.Response:
    headers = {"APCA-API-KEY-ID": fake.api_key, "APCA-API-SECRET-KEY": fake.secret_key}
    return requests.get(f"{fake.url}/v2/stocks/bars", params=params, headers=headers, timeout=5)


def test_pages_are_ordered_by_symbol_then_time(fake_alpaca_data: FakeAlpacaDataServer) -> None:
    fake_alpaca_data.set_closes("SPY", {date(2024, 1, d): 400.0 + d for d in (2, 3, 4)})
    fake_alpaca_data.set_closes("BIL", {date(2024, 1, d): 91.0 + d for d in (2, 3, 4)})
    params = {"symbols": "SPY,BIL", "timeframe": "1Day", "start": "2024-01-01", "end": "2024-01-31"}
    first = get(fake_alpaca_data, **params).json()
    assert list(first["bars"]) == ["BIL", "SPY"]
    assert len(first["bars"]["BIL"]) == 3 and len(first["bars"]["SPY"]) == 2
    second = get(fake_alpaca_data, **params, page_token=first["next_page_token"]).json()
    assert second["next_page_token"] is None
    assert [b["c"] for b in second["bars"]["SPY"]] == [404.0]
    assert set(first["bars"]["BIL"][0]) == {"t", "o", "h", "l", "c", "v", "n", "vw"}


def test_rejects_bad_requests_and_bad_keys(fake_alpaca_data: FakeAlpacaDataServer) -> None:
    assert get(fake_alpaca_data, symbols="SPY", timeframe="1Week").status_code == 400
    assert get(fake_alpaca_data, symbols="SPY", timeframe="1Day", feed="nyse").status_code == 400
    response = requests.get(f"{fake_alpaca_data.url}/v2/stocks/bars", params={"symbols": "SPY"}, timeout=5)
    assert response.status_code == 401
    assert [r.authenticated for r in fake_alpaca_data.requests] == [True, True, False]


def test_end_is_inclusive_and_filters_by_time(fake_alpaca_data: FakeAlpacaDataServer) -> None:
    fake_alpaca_data.set_closes("SPY", {date(2024, 1, d): 400.0 + d for d in (2, 3, 4)})
    body = get(
        fake_alpaca_data, symbols="SPY", timeframe="1Day", start="2024-01-03T05:00:00Z", end="2024-01-03T05:00:00Z"
    ).json()
    assert [b["c"] for b in body["bars"]["SPY"]] == [403.0]
