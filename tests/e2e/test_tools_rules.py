"""replay, dlq and recovery: the local tools never lose, hide or mislead (issue 15 items 1, 12, 13;
issue 12 item 5: replay and redrive use the broker and data the day ran with)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alchemiser.local.day import DayOptions, run_day
from alchemiser.local.runtime import LocalRuntime
from alchemiser.local.statedir import exclusive, workflow_status, write_run_record
from tests.conftest import load_test_event
from tests.e2e.conftest import alchemiser, alchemiser_json, broker_orders

DAY = datetime.fromisoformat("2026-11-25T09:35:00-05:00")


def _day(state_dir, **kw):
    with exclusive(state_dir):
        return run_day(DayOptions(state_dir, DAY, **kw))


def test_a_date_alone_replays_that_whole_day_and_a_reversed_window_is_an_error(state_dir):
    _day(state_dir)
    report = alchemiser_json("replay", "--from", "2026-11-25", "--to", "2026-11-25", "--state-dir", str(state_dir))
    assert report["events"] == 5 and report["published"] == 0
    none = alchemiser("replay", "--from", "2026-11-26", "--to", "2026-11-26", "--state-dir", str(state_dir))
    assert none.returncode == 1 and "no archived events" in none.stderr
    reversed_window = alchemiser("replay", "--from", "2026-11-26", "--to", "2026-11-25", "--state-dir", str(state_dir))
    assert reversed_window.returncode == 2 and "is after --to" in reversed_window.stderr


def test_a_replay_uses_the_broker_and_data_the_day_ran_with(state_dir, tmp_path):
    csv = tmp_path / "bars"
    _export_offline_bars(state_dir, csv)
    day = tmp_path / "day"
    day.mkdir()
    ran = alchemiser_json("run", "--as-of", DAY.isoformat(), "--data", str(csv), "--state-dir", str(day))
    assert ran["status"] == "completed"
    assert json.loads((day / "runs" / "run-2026-11-25-paper.json").read_text())["data"] == str(csv.resolve())
    replay = alchemiser("replay", "--state-dir", str(day))
    assert replay.returncode == 0, replay.stderr
    assert f"using broker sim (the simulated broker), data {csv.resolve()}" in replay.stdout
    mismatch = alchemiser("replay", "--data", "offline", "--state-dir", str(day))
    assert mismatch.returncode == 2 and "does not match the recorded" in mismatch.stderr


def _export_offline_bars(scratch, folder):
    """A CSV folder holding the offline generator's closes (a second, different data configuration)."""
    import math
    from datetime import date

    from services.strategy.portfolio_config import load_portfolio
    from services.strategy.settings import PACKAGED_CONFIG
    from shared.venues.factory import make_market_data

    portfolio = load_portfolio(PACKAGED_CONFIG)
    history = make_market_data("offline", state_dir=scratch).history(portfolio.symbols, date(2026, 11, 24),
                                                                       portfolio.lookback_days + 30)
    folder.mkdir()
    for symbol in portfolio.symbols:
        rows = ["date,close"] + [f"{day.astype(date).isoformat()},{close:.4f}"
                                 for day, close in zip(history.dates, history.closes[symbol], strict=True)
                                 if not math.isnan(close)]
        (folder / f"{symbol}.csv").write_text("\n".join(rows) + "\n")


def test_a_day_that_traded_on_alpaca_is_never_replayed_on_the_simulator(state_dir):
    _day(state_dir)
    write_run_record(state_dir, "run-2026-11-25-paper-alpaca", {"broker": "alpaca", "data": "alpaca"})
    (state_dir / "runs" / "run-2026-11-25-paper.json").write_text(json.dumps({"broker": "alpaca", "data": "alpaca"}))
    before = len(broker_orders(state_dir))
    result = alchemiser("replay", "--state-dir", str(state_dir))
    assert result.returncode == 2 and "ran on Alpaca" in result.stderr
    forced = alchemiser("replay", "--broker", "sim", "--data", "offline", "--state-dir", str(state_dir))
    assert forced.returncode == 2 and "does not match the recorded alpaca" in forced.stderr
    assert len(broker_orders(state_dir)) == before


def test_a_killed_run_s_outbox_is_published_by_the_next_command(state_dir):
    _day(state_dir)
    trade = next(e for e in LocalRuntime(state_dir).archive.all() if e["detail-type"] == "TradeExecuted")
    # As if the run was killed after execution returned, before its outbox was routed:
    (state_dir / "outbox").mkdir(exist_ok=True)
    orphan = {"Source": trade["source"], "DetailType": "TradeExecuted", "Detail": json.dumps(trade["detail"]),
              "EventBusName": "alchemiser-trading-events-dev"}
    (state_dir / "outbox" / "killed-request.jsonl").write_text(json.dumps(orphan) + "\n" + '{"Source": "alch')
    result = alchemiser_json("run", "--as-of", DAY.isoformat(), "--state-dir", str(state_dir))
    assert not list((state_dir / "outbox").glob("*.jsonl"))
    assert result["events"] == ["TradeExecuted"]  # republished: the orchestrator dedupes it
    assert workflow_status(state_dir, "run-2026-11-25-paper")[0] == "completed"


def test_dlq_show_delete_purge_and_a_redrive_without_ids(state_dir):
    runtime = LocalRuntime(state_dir, as_of=datetime(2026, 11, 25, 14, 40, tzinfo=UTC))
    for n in range(3):
        runtime.dlq.send(load_test_event("signal-generated.json"), rule="SignalGeneratedRule",
                         target="PortfolioFunction", error=f"BrokerUnavailable: timed out {n}\nline two", attempts=3,
                         failed_at=datetime(2026, 11, 25, 14, 36, tzinfo=UTC))
    ids = [m["message_id"] for m in alchemiser_json("dlq", "list", "--state-dir", str(state_dir))]
    shown = alchemiser("dlq", "show", ids[0], "--state-dir", str(state_dir))
    assert shown.returncode == 0
    assert "  error:\n    BrokerUnavailable: timed out 0\n    line two" in shown.stdout
    assert '    "detail-type": "SignalGenerated"' in shown.stdout  # the event, indented JSON
    bare = alchemiser("dlq", "redrive", "--state-dir", str(state_dir))
    assert bare.returncode == 2 and "needs MESSAGE_ID(s) or --all" in bare.stderr
    unconfirmed = alchemiser("dlq", "delete", ids[0], "--state-dir", str(state_dir))
    assert unconfirmed.returncode == 1 and "pass --yes" in unconfirmed.stderr
    assert alchemiser("dlq", "delete", ids[0], "--yes", "--state-dir", str(state_dir)).returncode == 0
    assert [m["message_id"] for m in alchemiser_json("dlq", "list", "--state-dir", str(state_dir))] == ids[1:]
    assert alchemiser("dlq", "purge", "--yes", "--state-dir", str(state_dir)).returncode == 0
    assert alchemiser_json("dlq", "list", "--state-dir", str(state_dir)) == []


def test_a_torn_dlq_line_is_reported_not_fatal(state_dir):
    (state_dir / "dlq").mkdir()
    (state_dir / "dlq" / "messages.jsonl").write_text('{"message_id": "m1", "event": {}, "error": "x"}\n{"mess')
    listed = alchemiser("dlq", "list", "--state-dir", str(state_dir))
    assert listed.returncode == 0 and "1 message(s)" in listed.stdout
    assert "messages.jsonl:2: unreadable line skipped" in listed.stderr


def test_a_failing_send_prints_the_dead_letter_hint(state_dir, tmp_path):
    poison = tmp_path / "poison.json"
    poison.write_text(json.dumps({"correlation_id": "poison-2", "hop_count": 2}))
    sent = alchemiser("send", "--source", "alchemiser.portfolio", "--detail-type", "RebalancePlanned",
                      "--detail", str(poison), "--state-dir", str(state_dir))
    assert sent.returncode == 1
    assert "2 delivery(ies) dead-lettered: alchemiser dlq list" in sent.stderr
