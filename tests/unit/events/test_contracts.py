"""Contract tests: every sample in test-events/ is accepted by each function the rules deliver it to.

Which functions receive a sample is decided by the template's rules through the local runtime's
matcher, so a sample that no rule routes, or that its consumer cannot parse, fails here.
"""

from __future__ import annotations

import json

import pytest

from alchemiser.local.event_patterns import compile_pattern
from alchemiser.local.template import load_template
from shared.events.catalog import ROUTES
from shared.events.envelope import open_envelope
from shared.events.middleware import parse_delivery
from tests.conftest import TEST_EVENTS

TEMPLATE = load_template()
DOMAIN_SAMPLES = sorted(p.name for p in TEST_EVENTS.glob("*.json")
                        if json.loads(p.read_text()).get("detail-type") in ROUTES)


def receivers(envelope: dict) -> set[str]:
    out = set()
    for rule in TEMPLATE.rules:
        if compile_pattern(rule.pattern).matches(envelope):
            out |= {TEMPLATE.functions[t.function].service for t in rule.targets}
    return out


@pytest.mark.parametrize("name", DOMAIN_SAMPLES)
def test_each_sample_reaches_exactly_its_catalogued_consumers(name):
    envelope = json.loads((TEST_EVENTS / name).read_text())
    assert receivers(envelope) == set(ROUTES[envelope["detail-type"]].consumers)


@pytest.mark.parametrize("name", DOMAIN_SAMPLES)
def test_each_consumer_parses_the_sample_it_receives(name):
    envelope = json.loads((TEST_EVENTS / name).read_text())
    for consumer in receivers(envelope):
        incoming = parse_delivery(open_envelope(envelope), consumer)
        assert incoming.event is not None
        assert incoming.event.detail_type == envelope["detail-type"]


@pytest.mark.parametrize("name", ["direct-trade-event.json", "eventbridge-scheduler-trade.json"])
def test_the_original_trade_events_parse_as_commands_for_the_strategy_function(name):
    incoming = parse_delivery(open_envelope(json.loads((TEST_EVENTS / name).read_text())), "strategy")
    assert incoming.command is not None and incoming.command.mode == "trade"


def test_samples_tell_one_coherent_workflow():
    details = {n: json.loads((TEST_EVENTS / n).read_text())["detail"] for n in DOMAIN_SAMPLES
               if n != "eventbridge-error-notification.json"}
    assert {d["correlation_id"] for d in details.values()} == {"run-2026-11-25-paper"}
    signal, plan = details["signal-generated.json"], details["rebalance-planned.json"]
    trade = details["trade-executed.json"]
    assert plan["causation_id"] == signal["event_id"] == plan["signal_event_id"]
    assert trade["causation_id"] == plan["event_id"] and trade["plan_id"] == plan["plan_id"]
