"""`{"mode": "plan"}`: the strategy side of today's run, dry. It answers what `mode: "trade"` would do
(workflow id, signals, target weights, data freshness, the session's hours) and does none of it:
nothing published, no idempotency record, no workflow fact."""

from __future__ import annotations

from datetime import date, datetime

from services.strategy import app
from tests.unit.strategy.support import DIRECT, THANKSGIVING, WEDNESDAY, EndsOn, harness

PLAN = {"mode": "plan"}


def _checks(response: dict) -> dict[str, dict]:
    return {c["check"]: c for c in response["checks"]}


def test_a_plan_answers_what_the_trade_run_would_publish_and_publishes_nothing(state_dir):
    h = harness(state_dir)
    response = h.invoke(PLAN, request_id="req-plan")
    assert (response["status"], response["mode"], response["published"], response["placed"]) == (
        "success", "plan", [], 0)
    assert response["would_start"] is True and response["correlation_id"] == "run-2026-11-25-paper"
    assert response["message"].startswith("Dry run (nothing published or recorded): would start workflow "
                                           "run-2026-11-25-paper")
    assert h.published == []
    checks = _checks(response)
    assert checks["trading day"]["ok"] and checks["data freshness"]["ok"]
    assert "last bar 2026-11-24, the run needs 2026-11-24" in checks["data freshness"]["detail"]
    assert checks["market clock"]["ok"] and "closes 2026-11-25T16:00:00-05:00" in checks["market clock"]["detail"]
    assert checks["kill switch"]["ok"] is None and "execution function" in checks["kill switch"]["detail"]
    assert "alchemiser plan --broker alpaca --data alpaca" in response["order_sizing"]

    trade = h.invoke(DIRECT, request_id="req-trade")  # the plan took no idempotency record: the run starts
    assert trade["status"] == "success", trade["message"]
    signal = h.published[1]
    assert response["weights"] == {s: str(w) for s, w in signal.target_weights.items()}
    assert response["as_of"] == signal.data_as_of.isoformat() == "2026-11-24"
    assert set(response["strategies"]) == {s.name for s in signal.strategies}


def test_a_plan_after_the_run_still_answers_and_the_run_stays_a_duplicate(state_dir):
    h = harness(state_dir)
    assert h.invoke(DIRECT)["status"] == "success"
    published = list(h.published)
    assert h.invoke(PLAN)["status"] == "success"
    assert h.published == published
    assert h.invoke(DIRECT)["status"] == "duplicate"


def test_a_plan_on_a_holiday_says_no_workflow_would_start_and_still_shows_the_signals(state_dir):
    h = harness(state_dir)
    response = h.invoke(PLAN, at=THANKSGIVING)
    assert response["status"] == "success" and response["would_start"] is False
    checks = _checks(response)
    assert not checks["trading day"]["ok"]
    assert checks["trading day"]["detail"].startswith("market closed on 2026-11-26 (Thursday): holiday")
    assert not checks["market clock"]["ok"] and response["weights"]
    assert "would start no trading" in response["message"]
    assert h.published == []


def test_a_plan_on_stale_data_says_the_run_would_fail_closed(state_dir):
    h = harness(state_dir, market_data=EndsOn(date(2026, 11, 20)))
    response = h.invoke(PLAN)
    fresh = _checks(response)["data freshness"]
    assert not fresh["ok"] and "last bar 2026-11-20, the run needs 2026-11-24" in fresh["detail"]
    assert response["would_start"] is False and "fail closed (stale data)" in response["message"]
    assert h.published == []


def test_a_plan_before_the_open_says_the_market_is_closed_until_the_open(state_dir):
    h = harness(state_dir)
    response = h.invoke(PLAN, at=datetime(2026, 11, 25, 8, 0, tzinfo=WEDNESDAY.tzinfo))
    clock = _checks(response)["market clock"]
    assert not clock["ok"] and "opens 2026-11-25T09:30:00-05:00" in clock["detail"]
    assert response["would_start"] is True  # the scheduled run starts a workflow; execution waits for the open


def test_a_plan_whose_strategy_file_is_broken_answers_failed_with_the_reason(state_dir, tmp_path):
    broken = tmp_path / "broken.toml"
    (tmp_path / "bad.clj").write_text('(defsymphony "bad" {} (asset))\n')
    broken.write_text('[[strategies]]\nname = "bad"\nfile = "bad.clj"\nallocation = 1\n')
    h = harness(state_dir, strategy_config=broken)
    response = h.invoke(PLAN)
    assert response["status"] == "failed" and response["mode"] == "plan"
    assert response["message"].startswith("the run would fail at the strategy step:")
    assert response["error_type"] in ("StrategyError", "PortfolioConfigError")
    assert h.published == []


def test_plan_is_a_mode_of_the_command_model():
    from shared.events.lambda_event import LambdaEvent

    assert LambdaEvent.model_validate({"mode": "plan"}).mode == "plan"
    assert app.PLAN_SIZING.startswith("order sizes need the account")
