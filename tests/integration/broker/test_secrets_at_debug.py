"""At DEBUG the functions write DEBUG records, and no Alpaca key, whole or in part, is in any of them: not
during broker faults (5xx, 429, a reply lost after the order was created), not across a key rotation.

"In part": any run of MIN_FRAGMENT (6) characters of a key id or a secret. The keys here are random-looking
(no word a log line would hold by chance), so a hit is a leak. Two runs:

- a local day, `alchemiser run --log-level DEBUG --broker alpaca --data alpaca`, against the fake Alpaca
  servers (real alpaca-py), with faults scripted at the broker: every file the run wrote is read;
- the deployed shape (ALCHEMISER_BACKEND=aws on moto, keys from Secrets Manager), POWERTOOLS_LOG_LEVEL=DEBUG,
  the secret rotated under warm containers, the old key refused by the broker: everything the functions'
  loggers wrote, and every record any logger emitted while the root logger is at DEBUG too (what a Lambda
  runtime set to DEBUG would print), botocore's included.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.marketdata.calendar import ExchangeCalendar
from shared.venues.alpaca.keys import CREDENTIALS_MAX_AGE_SECONDS, clear_credentials_cache
from tests.conftest import LambdaContextStub
from tests.fakes.deployed_stage import SECRET, SecretCacheClock, deployed_stage
from tests.fakes.fake_alpaca import FakeAlpaca, running_fake_alpaca
from tests.fakes.fake_alpaca_data import FakeAlpacaDataServer

KEY, SECRET_KEY = "PKQZXWVJ7KYRMQNL2PTW", "qZxWvJkYrMqNlPtWbHgFdSaQzXcVbNmLkJhGfDsA"
NEW_KEY, NEW_SECRET_KEY = "PKHJWQXZVR3TYKMBN9CV", "wQpZrXtVyKmJbNhGfLdSzXcVqWeRtYuIoPaSdFgH"
AS_OF = datetime.fromisoformat("2026-11-25T09:35:00-05:00")
MIN_FRAGMENT = 6


def fragments(*keys: str) -> set[str]:
    return {k[i:i + MIN_FRAGMENT] for k in keys for i in range(len(k) - MIN_FRAGMENT + 1)}


def leaks(text: str, *keys: str) -> list[str]:
    return sorted(f for f in fragments(*keys) if f in text)


def debug_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") == "DEBUG":
            out.append(record)
    return out


@pytest.fixture(autouse=True)
def _library_loggers_back_to_their_defaults() -> Iterator[None]:
    yield
    for name in ("shared", "urllib3"):
        library = logging.getLogger(name)
        library.handlers, library.propagate = [], True
        library.setLevel(logging.NOTSET)


# ------------------------------------------------------------------ a local day at DEBUG, under broker faults


def test_a_local_run_at_debug_writes_debug_records_and_no_key_under_broker_faults(tmp_path, capsys, monkeypatch):
    from alchemiser import cli
    from alchemiser.local import day

    strategy = tmp_path / "two.clj"
    strategy.write_text('(defsymphony "two" {} (weight-equal [(asset "TLT") (asset "GLD")]))\n')
    sessions = [date.fromisoformat(str(d)) for d in ExchangeCalendar().sessions_between(date(2026, 1, 2),
                                                                                         date(2026, 11, 24))]
    with FakeAlpacaDataServer(api_key=KEY, secret_key=SECRET_KEY, page_size=500) as data, \
            running_fake_alpaca(api_key=KEY, secret_key=SECRET_KEY) as broker:
        for symbol, price in (("TLT", 90.0), ("GLD", 240.0)):
            data.set_closes(symbol, dict.fromkeys(sessions, price))
            data.set_latest_trade(symbol, price, AS_OF)
            broker.add_asset(symbol)
            broker.set_price(symbol, str(price))
        broker.set_clock(open=True, timestamp=AS_OF)
        broker.script_next("GET /v2/account", status=500)  # a 5xx on a read
        broker.script_next("GET /v2/account", status=429)  # rate limited
        broker.script_next("POST /v2/orders", status=503)  # refused before creation
        broker.script_next("POST /v2/orders", after_create=True, drop=True)  # created, the reply lost
        for name, value in (("APCA_API_KEY_ID", KEY), ("APCA_API_SECRET_KEY", SECRET_KEY),
                            ("ALCHEMISER_ALPACA_TRADING_URL", broker.url), ("ALCHEMISER_ALPACA_DATA_URL", data.url)):
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(day, "default_as_of", lambda now, at: AS_OF)  # `run --broker alpaca` trades "today"
        state = tmp_path / "state"
        code = cli.main(["run", "--broker", "alpaca", "--data", "alpaca", "--strategy", str(strategy),
                         "--state-dir", str(state), "--log-level", "DEBUG", "--json"])
        statuses = [r.status for r in broker.requests]
    printed = capsys.readouterr()
    assert code == 0, printed.out
    assert {500, 429, 503}.issubset(statuses) and len(broker.orders) == 2  # the faults happened, each order once
    logs = {f.stem: f.read_text() for f in (state / "logs").glob("*.log")}
    for service in ("strategy", "portfolio", "execution"):
        assert debug_lines(logs[service]), f"{service}: no DEBUG record at --log-level DEBUG"
    assert any("POST /v2/orders" in r["message"] for r in debug_lines(logs["execution"]))
    assert any(r.get("correlation_id") == "run-2026-11-25-paper" for r in debug_lines(logs["execution"]))
    for path in [p for p in state.rglob("*") if p.is_file()]:
        assert leaks(path.read_bytes().decode("utf-8", "replace"), KEY, SECRET_KEY) == [], path
    assert leaks(printed.out + printed.err, KEY, SECRET_KEY) == []


def test_at_info_a_local_run_writes_no_debug_record(tmp_path):
    from alchemiser.local.day import DayOptions, run_day

    assert run_day(DayOptions(tmp_path, AS_OF)).status == "completed"
    assert not any(debug_lines(f.read_text()) for f in (tmp_path / "logs").glob("*.log"))


# ------------------------------------------------------------------ deployed: a key rotation at DEBUG


class _Everything(logging.Handler):
    """Every record any logger emits, formatted: what a runtime whose root logger is at DEBUG would print."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.paused = False
        """While the test itself, as the operator, writes the new pair into the secret."""

    def emit(self, record: logging.LogRecord) -> None:
        if not self.paused:
            self.lines.append(f"{record.name} {record.levelname} {self.format(record)}")


@pytest.fixture
def deployed(monkeypatch, state_dir) -> Iterator[FakeAlpaca]:
    clear_credentials_cache()
    root, everything = logging.getLogger(), _Everything()
    level = root.level
    with running_fake_alpaca(api_key=KEY, secret_key=SECRET_KEY) as broker, \
            deployed_stage(monkeypatch, state_dir, broker, SECRET_KEY, ALCHEMISER_AS_OF=AS_OF.isoformat(),
                           POWERTOOLS_LOG_LEVEL="DEBUG"):
        root.addHandler(everything)
        root.setLevel(logging.DEBUG)
        try:
            broker.everything = everything  # type: ignore[attr-defined]
            yield broker
        finally:
            root.removeHandler(everything)
            root.setLevel(level)
    clear_credentials_cache()


def test_a_key_rotation_under_faults_at_debug_logs_no_key(deployed, capsys, monkeypatch):
    from services.execution.dependencies import dependencies
    from services.execution.settings import ExecutionSettings
    from services.strategy.dependencies import clear_cache
    from services.strategy.handler import lambda_handler as strategy
    from shared.broker.port import BrokerError

    broker, later = deployed, SecretCacheClock()
    later.install(monkeypatch)
    clear_cache()
    try:
        broker.script_next("GET /v2/calendar", status=500)
        broker.script_next("GET /v2/calendar", status=429)
        assert strategy({"mode": "signal"}, LambdaContextStub())["status"] == "success"
        broker.script_next("GET /v2/account", status=502)
        dependencies(ExecutionSettings.from_env()).broker.get_account()
        # The operator rotates: the new pair in the secret, Alpaca accepts only the new pair from now on. Until
        # the cached secret expires a warm container still sends the old pair, and is refused (401).
        broker.everything.paused = True  # type: ignore[attr-defined]
        boto3.client("secretsmanager").put_secret_value(
            SecretId=SECRET, SecretString=json.dumps({"api_key": NEW_KEY, "secret_key": NEW_SECRET_KEY}))
        broker.everything.paused = False  # type: ignore[attr-defined]
        broker.rotate_keys(NEW_KEY, NEW_SECRET_KEY)
        with pytest.raises(BrokerError):
            dependencies(ExecutionSettings.from_env()).broker.get_account()
        later.offset = timedelta(seconds=CREDENTIALS_MAX_AGE_SECONDS + 1)
        broker.script_next("GET /v2/account", status=503)
        dependencies(ExecutionSettings.from_env()).broker.get_account()
        assert strategy({"mode": "signal"}, LambdaContextStub())["status"] == "success"
    finally:
        clear_cache()
    written = capsys.readouterr()
    statuses = {(r.key_id, r.status) for r in broker.requests}
    assert {(KEY, 500), (KEY, 429), (KEY, 502), (KEY, 401), (NEW_KEY, 503), (NEW_KEY, 200)} <= statuses  # it happened
    assert debug_lines(written.err), "POWERTOOLS_LOG_LEVEL=DEBUG wrote no DEBUG record"
    everything = "\n".join(broker.everything.lines)  # type: ignore[attr-defined]
    assert broker.everything.lines  # type: ignore[attr-defined]  # the capture was live all along
    assert leaks(written.out + written.err, KEY, SECRET_KEY, NEW_KEY, NEW_SECRET_KEY) == []
    assert leaks(everything, KEY, SECRET_KEY, NEW_KEY, NEW_SECRET_KEY) == []
