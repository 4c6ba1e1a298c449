"""The strategy handler in the local runtime (template environment, embedded stores, the local bus),
and what it publishes as its consumers receive it."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alchemiser.local.runtime import LocalRuntime
from alchemiser.local.storage import Archive
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from shared.events.catalog import ORCHESTRATOR, PORTFOLIO
from shared.events.envelope import open_envelope
from shared.events.middleware import parse_delivery
from shared.events.signal_generated import SignalGenerated
from shared.events.workflow_failed import WorkflowFailed
from shared.events.workflow_started import WorkflowStarted
from shared.marketdata.offline import OfflineMarketData
from shared.runtime.clock import NEW_YORK
from tests.conftest import load_test_event

WEDNESDAY = datetime(2026, 11, 25, 9, 35, tzinfo=NEW_YORK)
SATURDAY = datetime(2026, 11, 28, 9, 35, tzinfo=NEW_YORK)


def start(state_dir: Path, event: dict[str, Any], *, at: datetime = WEDNESDAY,
          env: dict[str, str] | None = None) -> dict[str, Any]:
    hop, _ = LocalRuntime(state_dir, as_of=at, env=env).invoke("strategy", event)
    assert isinstance(hop.response, dict)
    response: dict[str, Any] = hop.response
    assert response["published"] == hop.published
    return response


def envelopes(state_dir: Path) -> list[dict[str, Any]]:
    return Archive(state_dir).events()


def test_the_published_signal_is_what_the_portfolio_function_accepts(state_dir):
    start(state_dir, load_test_event("eventbridge-scheduler-trade.json"))
    started, signal = envelopes(state_dir)

    incoming = parse_delivery(open_envelope(signal), PORTFOLIO)
    assert isinstance(incoming.event, SignalGenerated)
    assert incoming.event.weight_sum() == 1
    assert incoming.event.correlation_id == "run-2026-11-25-paper"
    assert incoming.event.causation_id == "12345-test-event"  # the Scheduler envelope's id
    assert incoming.event.data_as_of == date(2026, 11, 24)
    first = parse_delivery(open_envelope(started), ORCHESTRATOR).event
    assert isinstance(first, WorkflowStarted) and first.trigger == "schedule"
    assert first.event_id != incoming.event.event_id
    assert parse_delivery(open_envelope(signal), ORCHESTRATOR).event == incoming.event


def test_a_second_invocation_the_same_day_is_a_duplicate_and_nothing_more_reaches_the_bus(state_dir):
    first = start(state_dir, load_test_event("eventbridge-scheduler-trade.json"))
    again = start(state_dir, load_test_event("direct-trade-event.json"), at=WEDNESDAY.replace(hour=11))
    assert first["status"] == "success"
    assert again["status"] == "duplicate" and again["published"] == []
    assert again["correlation_id"] == "run-2026-11-25-paper"
    assert [e["detail-type"] for e in envelopes(state_dir)] == ["WorkflowStarted", "SignalGenerated"]


def test_an_explicit_correlation_id_starts_a_second_workflow(state_dir):
    start(state_dir, {"mode": "trade"})
    second = start(state_dir, {"mode": "trade", "correlation_id": "manual-rerun-1"})
    assert second["status"] == "success" and second["correlation_id"] == "manual-rerun-1"
    assert [e["detail"]["correlation_id"] for e in envelopes(state_dir)] == \
        ["run-2026-11-25-paper"] * 2 + ["manual-rerun-1"] * 2


def test_signal_mode_publishes_nothing_even_on_a_weekend(state_dir):
    response = start(state_dir, {"mode": "signal"}, at=SATURDAY)
    assert (response["status"], response["mode"], response["trading_mode"]) == ("success", "signal", "paper")
    assert response["as_of"] == "2026-11-27"
    assert response["published"] == [] and envelopes(state_dir) == []
    assert sum(Decimal(w) for w in response["weights"].values()) == 1


def _csv_folder(folder: Path, last: date) -> Path:
    symbols = load_portfolio(PACKAGED_CONFIG).symbols
    for symbol, closes in OfflineMarketData().closes_between(symbols, date(2025, 6, 2), last).items():
        rows = "".join(f"{d!s},{v}\n" for d, v in zip(closes.dates, closes.values, strict=True))
        (folder / f"{symbol}.csv").write_text("date,close\n" + rows)
    return folder


@pytest.mark.parametrize(("last", "status"), [(date(2026, 11, 18), "failed"), (date(2026, 11, 24), "success")])
def test_csv_data_that_ends_before_the_previous_session_fails_the_workflow_closed(state_dir, tmp_path, last, status):
    data = _csv_folder(tmp_path, last)
    response = start(state_dir, {"mode": "trade"}, env={"ALCHEMISER_MARKET_DATA": str(data)})
    assert response["status"] == status
    if status == "success":
        return
    assert response["error_type"] == "StaleMarketData" and "ends on 2026-11-18" in response["message"]
    started, failed = (parse_delivery(open_envelope(e), ORCHESTRATOR).event for e in envelopes(state_dir))
    assert isinstance(started, WorkflowStarted) and isinstance(failed, WorkflowFailed)
    assert (failed.step, failed.error_type) == ("strategy", "StaleMarketData")
    assert failed.correlation_id == started.correlation_id == response["correlation_id"]


def test_a_strategy_syntax_error_fails_the_run_with_file_line_and_column(state_dir, tmp_path):
    (tmp_path / "broken.clj").write_text('(defsymphony "broken" {}\n  (weight-equal [(asset "SPY")]\n')
    config = tmp_path / "portfolio.toml"
    config.write_text('[[strategy]]\nname = "broken"\nfile = "broken.clj"\nallocation = "1"\n')
    response = start(state_dir, {"mode": "trade"}, env={"ALCHEMISER_STRATEGY_CONFIG": str(config)})
    assert response["status"] == "failed" and response["error_type"] == "StrategyError"
    assert f"{tmp_path / 'broken.clj'}:2:3: " in response["message"]
    assert response["published"] == ["WorkflowStarted", "WorkflowFailed"]
    failed = envelopes(state_dir)[1]["detail"]
    assert failed["reason"].startswith(f"{tmp_path / 'broken.clj'}:2:3: ")
    json.dumps(response)
