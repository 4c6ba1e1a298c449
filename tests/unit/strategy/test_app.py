"""The strategy use cases through `app.handle`, with the real language, offline data and calendar,
the embedded idempotency store, and an in-memory bus."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from services.strategy import events
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from services.strategy.signals import evaluate_signals
from shared.events.base import EventContext
from shared.events.publisher import PublishError
from shared.events.signal_generated import SignalGenerated
from shared.events.workflow_failed import WorkflowFailed
from shared.events.workflow_started import WorkflowStarted
from shared.runtime import metric_names as m
from tests.unit.strategy.support import (
    DIRECT,
    SATURDAY,
    THANKSGIVING,
    WEDNESDAY,
    EndsOn,
    FlakyPublisher,
    Refused,
    Unreachable,
    harness,
    scheduler_envelope,
)

COMMON_KEYS = {"status", "mode", "trading_mode", "message", "request_id", "correlation_id", "published"}


# ------------------------------------------------------------------------------------ trade: success


def test_a_trade_command_on_a_trading_day_publishes_workflow_started_then_signal_generated(state_dir):
    h = harness(state_dir)
    response = h.invoke(DIRECT, request_id="req-1")

    assert set(response) >= COMMON_KEYS
    assert (response["status"], response["mode"], response["trading_mode"]) == ("success", "trade", "paper")
    assert response["correlation_id"] == "run-2026-11-25-paper"
    assert response["request_id"] == "req-1"
    assert response["published"] == ["WorkflowStarted", "SignalGenerated"]
    assert "run-2026-11-25-paper" in response["message"] and "signal published" in response["message"]
    started, signal = h.published
    assert isinstance(started, WorkflowStarted) and isinstance(signal, SignalGenerated)
    assert started.correlation_id == signal.correlation_id == "run-2026-11-25-paper"
    assert started.causation_id == signal.causation_id == "req-1"
    assert started.hop_count == signal.hop_count == 1
    assert started.trigger == "manual" and started.trading_date == date(2026, 11, 25)
    assert [s.name for s in started.strategies] == ["leveraged-trend", "momentum-rotation", "risk-parity"]
    assert sum((s.allocation for s in started.strategies), Decimal(0)) == 1


def test_the_signal_carries_net_weights_each_strategy_its_explanation_and_every_symbol_read(state_dir):
    h = harness(state_dir)
    h.invoke(DIRECT)
    signal = h.published[1]
    assert isinstance(signal, SignalGenerated)
    portfolio = load_portfolio(PACKAGED_CONFIG)

    assert signal.weight_sum() == 1
    assert signal.trading_date == date(2026, 11, 25)
    assert signal.data_as_of == date(2026, 11, 24)  # the previous session: 09:35 has no complete bar yet
    assert signal.symbols == portfolio.symbols
    assert "SPY" in signal.symbols and "SPY" not in signal.target_weights  # read in a condition only
    for strategy in signal.strategies:
        assert sum(strategy.weights.values(), Decimal(0)) == 1
        assert strategy.explanation and strategy.file.endswith(".clj") and "/" not in strategy.file
    contributed: dict[str, Decimal] = {}
    for strategy in signal.strategies:
        for symbol, weight in strategy.weights.items():
            contributed[symbol] = contributed.get(symbol, Decimal(0)) + strategy.allocation * weight
    assert all(abs(contributed[s] - w) < Decimal("1e-8") for s, w in signal.target_weights.items())
    trend = next(s for s in signal.strategies if s.name == "leveraged-trend")
    assert any(line.lstrip().startswith("if current-price(SPY) = ") for line in trend.explanation)


def test_the_response_shows_the_target_weights_and_dates_as_strings(state_dir):
    response = harness(state_dir).invoke(DIRECT)
    assert response["trading_date"] == "2026-11-25" and response["data_as_of"] == "2026-11-24"
    assert sum(Decimal(w) for w in response["target_weights"].values()) == 1
    json.dumps(response)  # what the idempotency record stores must be plain JSON


def test_the_scheduler_envelope_starts_the_same_workflow_marked_as_scheduled(state_dir):
    h = harness(state_dir)
    response = h.invoke(scheduler_envelope("env-7"))
    assert (response["status"], response["mode"], response["trading_mode"]) == ("success", "trade", "paper")
    assert response["correlation_id"] == "run-2026-11-25-paper"
    started, signal = h.published
    assert isinstance(started, WorkflowStarted) and started.trigger == "schedule"
    assert started.causation_id == signal.causation_id == "env-7"


def test_metrics_count_the_signal_and_time_the_evaluation_in_milliseconds(state_dir):
    h = harness(state_dir)
    h.invoke(DIRECT)
    assert h.metrics.total(m.SIGNALS_GENERATED) == 1
    assert h.metrics.units(m.STRATEGY_EVALUATION_MS) == {"Milliseconds"}
    assert h.metrics.total(m.STRATEGY_EVALUATION_MS) > 0


def test_live_mode_travels_on_the_workflow_id_the_events_and_the_response(state_dir):
    h = harness(state_dir, trading_mode="live")
    response = h.invoke(DIRECT)
    assert response["trading_mode"] == "live" and response["correlation_id"] == "run-2026-11-25-live"
    assert response["message"].startswith("Live trading workflow")
    assert {e.trading_mode for e in h.published} == {"live"}


# ------------------------------------------------------------------------------------ closed days


@pytest.mark.parametrize(("at", "reason"), [
    (THANKSGIVING, "market closed on 2026-11-26 (Thursday): holiday"),
    (SATURDAY, "market closed on 2026-11-28 (Saturday): weekend"),
])
def test_on_a_closed_day_the_run_is_skipped_with_the_reason_and_nothing_is_published(state_dir, at, reason):
    h = harness(state_dir)
    response = h.invoke(DIRECT, at=at)
    assert (response["status"], response["mode"], response["trading_mode"]) == ("skipped", "trade", "paper")
    assert response["reason"] == reason and reason in response["message"]
    assert response["published"] == [] and h.published == []
    assert h.metrics.total(m.WORKFLOWS_SKIPPED) == 1


def test_a_skipped_day_leaves_no_idempotency_record_behind(state_dir):
    h = harness(state_dir)
    h.invoke(DIRECT, at=THANKSGIVING)
    assert h.invoke(DIRECT, at=WEDNESDAY)["status"] == "success"


# ------------------------------------------------------------------------------------ duplicates


def test_a_second_invocation_the_same_day_is_a_duplicate_that_publishes_nothing(state_dir):
    h = harness(state_dir)
    first = h.invoke(scheduler_envelope("env-1"), request_id="req-1")
    second = h.invoke(DIRECT, at=WEDNESDAY.replace(hour=15), request_id="req-2")

    assert first["status"] == "success"
    assert second["status"] == "duplicate" and second["mode"] == "trade" and second["trading_mode"] == "paper"
    assert second["correlation_id"] == "run-2026-11-25-paper"
    assert second["published"] == [] and second["first_status"] == "success"
    assert second["first_request_id"] == "req-1"
    assert "own correlation_id" in second["message"]
    assert len(h.published) == 2
    assert h.metrics.total(m.DUPLICATES_SUPPRESSED) == 1


def test_an_explicit_correlation_id_starts_a_second_workflow_on_the_same_day(state_dir):
    h = harness(state_dir)
    h.invoke(DIRECT)
    again = h.invoke({"mode": "trade", "correlation_id": "rerun-2026-11-25-a"})
    assert again["status"] == "success" and again["correlation_id"] == "rerun-2026-11-25-a"
    assert [e.correlation_id for e in h.published] == ["run-2026-11-25-paper"] * 2 + ["rerun-2026-11-25-a"] * 2
    assert h.invoke({"mode": "trade", "correlation_id": "rerun-2026-11-25-a"})["status"] == "duplicate"
    assert len(h.published) == 4


def test_the_next_trading_day_is_a_new_workflow(state_dir):
    h = harness(state_dir)
    h.invoke(DIRECT)
    friday = h.invoke(DIRECT, at=THANKSGIVING.replace(day=27))
    assert friday["status"] == "success" and friday["correlation_id"] == "run-2026-11-27-paper"
    signal = h.published[-1]
    assert isinstance(signal, SignalGenerated) and signal.data_as_of == date(2026, 11, 25)  # the day before the holiday


# ------------------------------------------------------------------------------------ retries


def test_a_retry_after_a_bus_outage_republishes_the_same_event_ids(state_dir):
    h = harness(state_dir)
    flaky = FlakyPublisher()
    with pytest.raises(PublishError):
        h.invoke(DIRECT, request_id="req-async-1", publisher=flaky)
    retried = h.invoke(DIRECT, request_id="req-async-1")  # Lambda's async retry keeps the request id

    assert retried["status"] == "success"
    assert [e.event_id for e in h.published] == [e.event_id for e in flaky.attempted]
    assert [e.detail_type for e in h.published] == ["WorkflowStarted", "SignalGenerated"]


def test_scheduler_retries_keep_the_envelope_id_so_the_event_ids_do_not_change(state_dir):
    h = harness(state_dir)
    flaky = FlakyPublisher()
    with pytest.raises(PublishError):
        h.invoke(scheduler_envelope("env-9"), request_id="attempt-1", publisher=flaky)
    h.invoke(scheduler_envelope("env-9"), request_id="attempt-2")
    assert [e.event_id for e in h.published] == [e.event_id for e in flaky.attempted]


def test_an_unreachable_data_source_raises_for_a_retry_and_publishes_nothing(state_dir):
    unreachable = Unreachable()
    h = harness(state_dir, market_data=unreachable)
    with pytest.raises(Exception, match="unreachable"):
        h.invoke(DIRECT)
    with pytest.raises(Exception, match="unreachable"):
        h.invoke(DIRECT)  # not remembered as a duplicate: the retry really runs again
    assert unreachable.calls == 2 and h.published == []


# ------------------------------------------------------------------------------------ fail closed


def test_stale_data_fails_the_workflow_closed_with_the_reason(state_dir):
    h = harness(state_dir, market_data=EndsOn(date(2026, 11, 18)))
    response = h.invoke(DIRECT)

    assert (response["status"], response["mode"], response["trading_mode"]) == ("failed", "trade", "paper")
    assert response["error_type"] == "StaleMarketData"
    assert "2026-11-18" in response["message"] and "2026-11-24" in response["message"]
    assert response["published"] == ["WorkflowStarted", "WorkflowFailed"]
    started, failed = h.published
    assert isinstance(started, WorkflowStarted) and isinstance(failed, WorkflowFailed)
    assert failed.step == "strategy" and failed.error_type == "StaleMarketData"
    assert failed.correlation_id == started.correlation_id == "run-2026-11-25-paper"
    assert failed.details == {"data_as_of": "2026-11-18", "needed": "2026-11-24"}
    assert h.metrics.total(m.SIGNALS_GENERATED) == 0


def test_a_failed_run_is_remembered_so_a_redelivery_is_a_duplicate(state_dir):
    h = harness(state_dir, market_data=EndsOn(date(2026, 11, 18)))
    h.invoke(DIRECT)
    again = h.invoke(DIRECT)
    assert again["status"] == "duplicate" and again["first_status"] == "failed"
    assert len(h.published) == 2


def test_a_refused_data_request_fails_closed_rather_than_retrying(state_dir):
    h = harness(state_dir, market_data=Refused())
    response = h.invoke(DIRECT)
    assert response["status"] == "failed" and response["error_type"] == "MarketDataError"
    assert "HTTP 403" in response["reason"]
    assert [e.detail_type for e in h.published] == ["WorkflowStarted", "WorkflowFailed"]


def test_a_syntax_error_in_a_strategy_fails_the_run_with_file_line_and_column(state_dir, tmp_path):
    (tmp_path / "ok.clj").write_text('(defsymphony "ok" {} (asset "SPY"))\n')
    (tmp_path / "broken.clj").write_text('(defsymphony "broken" {}\n  (weight-equal [(asset "SPY") (asset "QQQ")]\n')
    config = tmp_path / "portfolio.toml"
    config.write_text('[[strategy]]\nname = "ok"\nfile = "ok.clj"\nallocation = "0.5"\n\n'
                      '[[strategy]]\nname = "broken"\nfile = "broken.clj"\nallocation = "0.5"\n')
    h = harness(state_dir, strategy_config=config)
    response = h.invoke(DIRECT)

    assert response["status"] == "failed" and response["error_type"] == "StrategyError"
    assert f"{tmp_path / 'broken.clj'}:2:3: " in response["reason"]
    started, failed = h.published
    assert isinstance(started, WorkflowStarted) and started.strategies == ()
    assert isinstance(failed, WorkflowFailed) and failed.details["line"] == "2"


def test_allocations_that_do_not_sum_to_one_fail_the_run_naming_the_portfolio_file(state_dir, tmp_path):
    (tmp_path / "ok.clj").write_text('(defsymphony "ok" {} (asset "SPY"))\n')
    config = tmp_path / "portfolio.toml"
    config.write_text('[[strategy]]\nname = "ok"\nfile = "ok.clj"\nallocation = "0.9"\n')
    response = harness(state_dir, strategy_config=config).invoke(DIRECT)
    assert response["status"] == "failed" and response["error_type"] == "PortfolioConfigError"
    assert str(config) in response["reason"] and "sum to 1" in response["reason"]


def test_a_command_with_an_action_is_refused_and_names_the_orchestrator(state_dir):
    h = harness(state_dir)
    response = h.invoke({"action": "pnl_analysis", "pnl_type": "weekly"})
    assert response["status"] == "failed" and "orchestrator" in response["message"]
    assert "alchemiser-orchestrator-dev" in response["message"]
    assert h.published == []


# ------------------------------------------------------------------------------------ signal only


def test_signal_mode_returns_the_allocation_and_explanation_and_publishes_nothing(state_dir):
    h = harness(state_dir)
    response = h.invoke({"mode": "signal"})

    assert (response["status"], response["mode"], response["trading_mode"]) == ("success", "signal", "paper")
    assert response["correlation_id"] is None and response["published"] == [] and h.published == []
    assert response["as_of"] == "2026-11-24"
    assert sum(Decimal(w) for w in response["weights"].values()) == 1
    assert set(response["strategies"]) == {"leveraged-trend", "momentum-rotation", "risk-parity"}
    trend = response["strategies"]["leveraged-trend"]
    assert trend["allocation"] == "0.40" and trend["explanation"]
    assert h.metrics.total(m.SIGNALS_GENERATED) == 0


def test_signal_mode_matches_what_the_trade_run_publishes(state_dir):
    h = harness(state_dir)
    preview = h.invoke({"mode": "signal"})
    h.invoke(DIRECT)
    signal = h.published[1]
    assert isinstance(signal, SignalGenerated)
    assert {s: Decimal(w) for s, w in preview["weights"].items()} == signal.target_weights


def test_signal_mode_answers_on_a_holiday_from_the_latest_session(state_dir):
    h = harness(state_dir)
    response = h.invoke({"mode": "signal"}, at=THANKSGIVING)
    assert response["status"] == "success" and response["as_of"] == "2026-11-25"
    weekend = h.invoke({"mode": "signal"}, at=SATURDAY)
    assert weekend["status"] == "success" and weekend["as_of"] == "2026-11-27"
    assert h.published == []


def test_signal_mode_leaves_the_days_run_free_to_start(state_dir):
    h = harness(state_dir)
    h.invoke({"mode": "signal"})
    assert h.invoke(DIRECT)["status"] == "success"


def test_signal_mode_reports_a_strategy_error_as_failed(state_dir, tmp_path):
    (tmp_path / "bad.clj").write_text('(defsymphony "bad" {} (asset "SPY")')
    config = tmp_path / "portfolio.toml"
    config.write_text('[[strategy]]\nname = "bad"\nfile = "bad.clj"\nallocation = 1\n')
    response = harness(state_dir, strategy_config=config).invoke({"mode": "signal"})
    assert response["status"] == "failed" and response["mode"] == "signal"
    assert response["message"].startswith(f"{tmp_path / 'bad.clj'}:1:")


# ------------------------------------------------------------------------------------ event size


def test_explanations_are_cut_to_keep_the_signal_under_the_event_budget(state_dir, monkeypatch):
    h = harness(state_dir)
    signals = evaluate_signals(load_portfolio(PACKAGED_CONFIG), h.deps.market_data, date(2026, 11, 24))
    run = events.Run("run-2026-11-25-paper", EventContext.for_command("run-2026-11-25-paper", "req", "paper"),
                     "manual", date(2026, 11, 25), date(2026, 11, 24), WEDNESDAY, "req")
    full = events.fitted_signal_event(run, signals, 80)
    monkeypatch.setattr(events, "EVENT_BUDGET_BYTES", len(full.model_dump_json()) - 500)
    cut = events.fitted_signal_event(run, signals, 80)
    assert cut.event_id == full.event_id and cut.target_weights == full.target_weights
    assert len(cut.model_dump_json()) <= events.EVENT_BUDGET_BYTES
    assert sum(len(s.explanation) for s in cut.strategies) < sum(len(s.explanation) for s in full.strategies)


def test_every_command_mode_has_a_use_case_and_each_answers_in_its_own_mode(state_dir):
    from typing import get_args

    from services.strategy import app as strategy_app
    from shared.events.lambda_event import LambdaEvent

    modes = set(get_args(LambdaEvent.model_fields["mode"].annotation))
    assert modes == set(strategy_app.MODES) and len(modes) == 3
    h = harness(state_dir)
    for mode in sorted(modes):
        response = h.invoke({"mode": mode})
        assert response["mode"] == mode and response["status"] == "success", response
