"""`alchemiser run` never misleads: what the workflow recorded, reruns, retries, checks up front."""

from __future__ import annotations

import json
import subprocess
import time

from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import ALCHEMISER, alchemiser, alchemiser_json, broker_orders

DAY = "2026-11-25T09:35:00-05:00"
PRE_MARKET = "2026-11-25T03:00:00-05:00"


def test_a_pre_market_run_reports_the_skip_the_workflow_recorded_then_a_retry_trades(state_dir):
    report = alchemiser_json("run", "--as-of", PRE_MARKET, "--state-dir", str(state_dir))
    assert report["status"] == "skipped" and "market closed" in report["reason"]
    assert report["dead_lettered"] == 0 and broker_orders(state_dir) == []
    assert report["retry_command"] == "alchemiser run --as-of 2026-11-25 --retry"
    again = alchemiser("run", "--as-of", PRE_MARKET, "--state-dir", str(state_dir))
    assert again.returncode == 1
    assert "already ended skipped" in again.stdout
    assert "alchemiser run --as-of 2026-11-25 --retry" in again.stdout
    retried = alchemiser_json("run", "--as-of", "2026-11-25", "--retry", "--state-dir", str(state_dir))
    assert retried["status"] == "completed"
    assert retried["correlation_id"] == "run-2026-11-25-paper-retry-1"
    assert len(broker_orders(state_dir)) == retried["orders_at_broker"] > 0
    # The day's workflow is now the retry: a plain rerun is a completed day, nothing to do.
    rerun = alchemiser_json("run", "--as-of", "2026-11-25", "--state-dir", str(state_dir))
    assert rerun["status"] == "duplicate" and rerun["correlation_id"] == "run-2026-11-25-paper-retry-1"
    again_retry = alchemiser_json("run", "--as-of", "2026-11-25", "--retry", "--state-dir", str(state_dir))
    assert again_retry["status"] == "duplicate" and "--retry ignored" in again_retry["reason"]
    assert len(broker_orders(state_dir)) == retried["orders_at_broker"]
    record = json.loads((state_dir / "runs" / "run-2026-11-25-paper-retry-1.json").read_text())
    assert (record["broker"], record["data"]) == ("sim", "offline")


def test_a_completed_day_rerun_says_nothing_to_do(state_dir):
    alchemiser_json("run", "--as-of", DAY, "--state-dir", str(state_dir))
    again = alchemiser("run", "--as-of", DAY, "--state-dir", str(state_dir))
    assert again.returncode == 0 and "already completed - nothing to do" in again.stdout


def test_an_earlier_day_than_the_account_s_last_activity_is_refused(state_dir):
    alchemiser_json("run", "--as-of", DAY, "--state-dir", str(state_dir))
    orders = len(broker_orders(state_dir))
    back = alchemiser("run", "--as-of", "2026-11-24", "--state-dir", str(state_dir))
    assert back.returncode == 2
    assert "backwards in time" in back.stderr and "--state-dir .alchemiser-2026-11-24" in back.stderr
    assert len(broker_orders(state_dir)) == orders


def test_bad_arguments_are_usage_errors_before_anything_runs(state_dir, tmp_path):
    for args, message in ((("--data", "bogus"), "not offline, alpaca or an existing folder"),
                          (("--data", str(tmp_path / "missing")), "existing folder"),
                          (("--strategy", "nope.clj"), "no such file"),
                          (("--config", "nope.toml"), "no such file")):
        result = alchemiser("run", "--as-of", DAY, "--state-dir", str(state_dir), *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    assert not state_dir.exists() or not any(state_dir.iterdir())
    stage = alchemiser("dlq", "list", "--stage", "qa")
    assert stage.returncode == 2 and "allowed: dev, prod" in stage.stderr


def test_alpaca_orders_on_synthetic_prices_are_refused_with_the_reason(state_dir):
    env_keys = {"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}
    import os

    result = subprocess.run([ALCHEMISER, "run", "--broker", "alpaca", "--state-dir", str(state_dir)],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, env={**os.environ, **env_keys})
    assert result.returncode == 2
    assert "prices that are not the market's" in result.stderr and "--allow-synthetic-prices" in result.stderr
    assert not state_dir.exists() or not any(state_dir.iterdir())


def test_a_second_run_on_the_same_state_dir_is_told_and_leaves_nothing_behind(state_dir):
    first = subprocess.Popen([ALCHEMISER, "run", "--as-of", DAY, "--state-dir", str(state_dir), "--json"],
                             cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (state_dir / "lock").exists() or not (state_dir / "lock").read_text().strip():
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.02)
        second = alchemiser("run", "--as-of", DAY, "--state-dir", str(state_dir))
        assert second.returncode == 75
        assert f"another alchemiser run (pid {first.pid}) holds the state dir" in second.stderr
        assert "strategy failed" not in second.stdout + second.stderr
    finally:
        out, _ = first.communicate(timeout=120)
    assert json.loads(out)["status"] == "completed"
    assert alchemiser_json("dlq", "list", "--state-dir", str(state_dir)) == []
    waited = alchemiser_json("run", "--as-of", DAY, "--state-dir", str(state_dir), "--wait", "5")
    assert waited["status"] == "duplicate"


def _strategies_run(state_dir) -> list[str]:
    from alchemiser.local.storage import Archive

    signal = [e for e in Archive(state_dir).all() if e["detail-type"] == "SignalGenerated"][-1]
    return [s["name"] for s in signal["detail"]["strategies"]]


def test_strategy_and_config_flags_pick_what_runs(state_dir, tmp_path):
    strategies = PROJECT_ROOT / "services" / "strategy" / "strategies"
    one = alchemiser_json("run", "--as-of", DAY, "--strategy", str(strategies / "risk_parity.clj"),
                          "--state-dir", str(state_dir))
    assert one["status"] == "completed" and _strategies_run(state_dir) == ["risk-parity"]
    config = tmp_path / "portfolio.toml"
    config.write_text(f'[[strategy]]\nname = "momentum"\nfile = "{strategies / "momentum_rotation.clj"}"\n'
                      'allocation = "1"\n')
    other = tmp_path / "other"
    two = alchemiser_json("run", "--as-of", DAY, "--config", str(config), "--state-dir", str(other))
    assert two["status"] == "completed" and _strategies_run(other) == ["momentum"]
    assert json.loads((other / "runs" / "run-2026-11-25-paper.json").read_text())["strategy_config"] == str(config)
    help_text = alchemiser("run", "--help").stdout
    assert "--strategy FILE.clj" in help_text and "--config PORTFOLIO.toml" in help_text


def test_a_day_killed_mid_plan_resumes_placing_only_what_is_missing(state_dir):
    import pytest

    from alchemiser.local.day import DayOptions, run_day
    from bench.fault_chain import KillProcess, killer

    as_of = __import__("datetime").datetime.fromisoformat(DAY)
    with pytest.raises(KillProcess), killer("kill_mid_plan", 3):
        run_day(DayOptions(state_dir, as_of))
    assert len(broker_orders(state_dir)) == 3
    result = run_day(DayOptions(state_dir, as_of))
    assert result.status == "completed" and result.resumed
    placed_now, adopted = result.placed_now_and_adopted or (0, 0)
    plan = result.last("RebalancePlanned")
    assert plan is not None and adopted == 3 and placed_now == len(plan["orders"]) - 3
    assert sorted((o.symbol, o.side) for o in broker_orders(state_dir)) == \
        sorted((o["symbol"], o["side"]) for o in plan["orders"])
    from alchemiser.commands.run_summary import render

    assert "resumed" in render(result, None) and "adopted (already at the broker) 3" in render(result, None)


def test_a_resumed_day_reads_the_portfolio_it_was_started_with(state_dir, tmp_path):
    from alchemiser.local.day import DayOptions, run_day
    from alchemiser.local.statedir import write_run_record

    strategies = PROJECT_ROOT / "services" / "strategy" / "strategies"
    config = tmp_path / "portfolio.toml"
    config.write_text(f'[[strategy]]\nname = "only-parity"\nfile = "{strategies / "risk_parity.clj"}"\n'
                      'allocation = "1"\n')
    # As if `run --config portfolio.toml` was killed before its strategy step finished:
    write_run_record(state_dir, "run-2026-11-25-paper", {"broker": "sim", "data": "offline",
                                                         "strategy_config": str(config)})
    result = run_day(DayOptions(state_dir, __import__("datetime").datetime.fromisoformat(DAY)))
    assert result.status == "completed" and _strategies_run(state_dir) == ["only-parity"]


def test_a_day_killed_after_the_planner_wrote_its_outbox_resumes_with_its_clock_moving_forward(state_dir):
    import pytest

    from alchemiser.local.day import DayOptions, run_day
    from bench.fault_chain import KillProcess
    from shared.events.publisher import OutboxPublisher

    as_of = __import__("datetime").datetime.fromisoformat(DAY)
    original = OutboxPublisher.publish

    def killed_after_planning(self, events):  # type: ignore[no-untyped-def]
        published = original(self, events)
        if self.source == "alchemiser.portfolio":
            raise KillProcess("killed after the portfolio wrote its outbox, before its record completed")
        return published

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(OutboxPublisher, "publish", killed_after_planning)
        with pytest.raises(KillProcess):
            run_day(DayOptions(state_dir, as_of))
    # The rerun's planner runs again: its clock must not start before the signal it plans (it used to
    # fail the workflow "account snapshot older than the signal" while the recovered plan traded).
    result = run_day(DayOptions(state_dir, as_of))
    assert result.status == "completed", result.reason
    plan = result.last("RebalancePlanned")
    assert plan is not None and len(broker_orders(state_dir)) == len(plan["orders"]) > 0
