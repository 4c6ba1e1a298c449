"""`send` of an event the chain refuses says why and exits non-zero (the reason was only in the function's log)."""

from __future__ import annotations

import json

from alchemiser import cli
from shared.runtime.published_facts import SqliteWorkflowFacts
from tests.conftest import TEST_EVENTS, load_test_event
from tests.fakes.facts import record_published

SEND = ["send", "--source", "alchemiser.strategy", "--detail-type", "SignalGenerated",
        "--detail", str(TEST_EVENTS / "signal-generated.json"), "--as-of", "2026-11-25T09:40:00-05:00"]


def test_a_refused_event_prints_the_reason_and_exits_1(tmp_path, capsys):
    assert cli.main([*SEND, "--state-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "portfolio refused SignalGenerated" in err
    assert "nothing planned" in err and "the strategy" in err  # the handler's own reason, not a log pointer
    assert "orchestrator refused SignalGenerated" in err


def test_the_json_carries_each_refusal(tmp_path, capsys):
    assert cli.main([*SEND, "--state-dir", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    # every function the rules deliver it to refuses it, each with its own reason (the orchestrator acts only on
    # what a producer recorded, too)
    reasons = {refusal["function"]: refusal["reason"] for refusal in report["refused"]}
    assert set(reasons) == {"portfolio", "orchestrator"}
    assert "nothing planned" in reasons["portfolio"] and "nothing done" in reasons["orchestrator"]
    assert all("the strategy function recorded no event" in reason for reason in reasons.values())


def test_an_event_the_chain_accepts_exits_0(tmp_path, capsys):
    record_published(load_test_event("signal-generated.json"), SqliteWorkflowFacts(tmp_path / "state.sqlite"))
    assert cli.main([*SEND, "--state-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["refused"] == []
