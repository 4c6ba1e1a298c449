"""The local runtime: EventBridge envelopes, rule routing, async retries, DLQ, archive, outbox."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime

import pytest

from alchemiser.local.runtime import ChainDidNotQuiesce, InvocationError, LocalRuntime
from alchemiser.local.template import Template, _load, parse_template_text
from tests.integration.local.handlers import calls

TEMPLATE_TEXT = textwrap.dedent("""
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      Stage: {Type: String, Default: dev}
    Globals:
      Function:
        Environment:
          Variables:
            ALCHEMISER_EVENT_BUS_NAME: !Ref Bus
            FROM_TEMPLATE: "yes"
    Resources:
      Bus:
        Type: AWS::Events::EventBus
        Properties: {Name: !Sub "test-bus-${Stage}"}
      Dlq:
        Type: AWS::SQS::Queue
      EchoFunction:
        Type: AWS::Serverless::Function
        Properties: {Handler: tests.integration.local.handlers.echo, Timeout: 30}
      FlakyFunction:
        Type: AWS::Serverless::Function
        Properties: {Handler: tests.integration.local.handlers.flaky}
      PublisherFunction:
        Type: AWS::Serverless::Function
        Properties: {Handler: tests.integration.local.handlers.publisher}
      LooperFunction:
        Type: AWS::Serverless::Function
        Properties: {Handler: tests.integration.local.handlers.looper}
      StrictFunction:
        Type: AWS::Serverless::Function
        Properties:
          Handler: tests.integration.local.handlers.flaky
          EventInvokeConfig: {MaximumRetryAttempts: 0}
      StrictRule:
        Type: AWS::Events::Rule
        Properties:
          EventBusName: !Ref Bus
          EventPattern: {detail: {step: [strict]}}
          Targets:
            - {Id: strict, Arn: !GetAtt StrictFunction.Arn,
               RetryPolicy: {MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 60},
               DeadLetterConfig: {Arn: !GetAtt Dlq.Arn}}
      FailedToEcho:
        Type: AWS::Events::Rule
        Properties:
          EventBusName: !Ref Bus
          EventPattern: {detail-type: [WorkflowFailed]}
          Targets:
            - {Id: echo, Arn: !GetAtt EchoFunction.Arn,
               RetryPolicy: {MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600},
               DeadLetterConfig: {Arn: !GetAtt Dlq.Arn}}
      FlakyRule:
        Type: AWS::Events::Rule
        Properties:
          EventBusName: !Ref Bus
          EventPattern: {source: [{prefix: "alchemiser."}], detail: {step: [strategy]}}
          Targets:
            - {Id: flaky, Arn: !GetAtt FlakyFunction.Arn,
               RetryPolicy: {MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60},
               DeadLetterConfig: {Arn: !GetAtt Dlq.Arn}}
      LoopRule:
        Type: AWS::Events::Rule
        Properties:
          EventBusName: !Ref Bus
          EventPattern: {source: [alchemiser.orchestration]}
          Targets:
            - {Id: loop, Arn: !GetAtt LooperFunction.Arn}
""")


@pytest.fixture
def template(tmp_path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE_TEXT)
    parse_template_text(TEMPLATE_TEXT)
    return _load(str(path), ())


def entry(step: str = "strategy", source: str = "alchemiser.strategy") -> dict:
    detail = {"schema_version": 1, "event_id": "e-1", "correlation_id": "corr-1", "causation_id": "c",
              "occurred_at": "2026-11-25T14:35:00Z", "trading_mode": "paper", "hop_count": 1,
              "step": step, "reason": "r", "error_type": "E", "failed_event_id": None, "details": {}}
    return {"Source": source, "DetailType": "WorkflowFailed", "Detail": json.dumps(detail),
            "EventBusName": "test-bus-dev"}


def test_envelopes_have_every_eventbridge_field_and_are_archived(template, state_dir):
    rt = LocalRuntime(state_dir, template=template, as_of=datetime(2026, 11, 25, 14, 35, tzinfo=UTC))
    (envelope,) = rt.put_events([entry()])
    assert set(envelope) == {"version", "id", "detail-type", "source", "account", "time", "region",
                             "resources", "detail"}
    assert envelope["account"] == "000000000000" and envelope["time"].startswith("2026-11-25T14:35")
    assert envelope["detail"]["step"] == "strategy"
    assert rt.archive.events() == [envelope]


def test_each_matching_rule_target_gets_the_event(template, state_dir):
    rt = LocalRuntime(state_dir, template=template)
    rt.put_events([entry(step="strategy"), entry(step="portfolio")])
    hops = rt.run_until_quiet()
    assert sorted((h.function, h.rule) for h in hops) == [
        ("echo", "FailedToEcho"), ("echo", "FailedToEcho"), ("flaky", "FlakyRule")]


def test_handlers_see_the_template_environment_local_backend_and_clock(template, state_dir):
    rt = LocalRuntime(state_dir, template=template, as_of=datetime(2026, 11, 25, 14, 35, tzinfo=UTC))
    rt.put_events([entry(step="portfolio")])
    rt.run_until_quiet()
    (call,) = calls(state_dir, "echo")
    env = call["env"]
    assert env["ALCHEMISER_BACKEND"] == "local"
    assert env["ALCHEMISER_STATE_DIR"] == str(state_dir)
    assert env["ALCHEMISER_EVENT_BUS_NAME"] == "test-bus-dev"
    assert env["ALCHEMISER_AS_OF"].startswith("2026-11-25T14:35")
    assert call["event"]["detail-type"] == "WorkflowFailed"


def test_a_transient_failure_is_retried_and_then_succeeds(template, state_dir, monkeypatch):
    monkeypatch.setenv("TEST_FAILURES", "2")
    rt = LocalRuntime(state_dir, template=template, env={"TEST_FAILURES": "2"})
    rt.put_events([entry()])
    hops = [h for h in rt.run_until_quiet() if h.function == "flaky"]
    assert [(h.attempt, h.status) for h in hops] == [(0, "error"), (1, "error"), (2, "success")]
    assert rt.dlq.messages() == []


def test_a_delivery_that_fails_every_attempt_goes_to_the_dlq_with_its_error(template, state_dir):
    rt = LocalRuntime(state_dir, template=template, env={"TEST_FAILURES": "99"})
    rt.put_events([entry()])
    rt.run_until_quiet()
    assert len(calls(state_dir, "flaky")) == 3  # first attempt + MaximumRetryAttempts 2
    (message,) = rt.dlq.messages()
    assert message["rule"] == "FlakyRule" and message["target"] == "FlakyFunction"
    assert message["attempts"] == 3 and "transient failure 3" in message["error"]
    assert message["event"]["detail"]["step"] == "strategy"


def test_what_a_handler_publishes_is_routed_on(template, state_dir):
    rt = LocalRuntime(state_dir, template=template)
    hop, follow = rt.invoke("publisher", {"go": True}, follow=True)
    assert hop.published == ["WorkflowFailed"]
    assert {h.function for h in follow} == {"echo", "flaky"}
    assert not list((state_dir / "outbox").glob("*.jsonl"))


def test_a_synchronous_invocation_error_is_raised(template, state_dir):
    rt = LocalRuntime(state_dir, template=template, env={"TEST_FAILURES": "1"})
    with pytest.raises(InvocationError, match="transient failure 1"):
        rt.invoke("flaky", {})


def test_a_loop_is_stopped_by_the_delivery_cap(template, state_dir):
    rt = LocalRuntime(state_dir, template=template, max_deliveries=25)
    rt.put_events([entry(source="alchemiser.orchestration", step="orchestrator")])
    with pytest.raises(ChainDidNotQuiesce):
        rt.run_until_quiet()


def test_an_unknown_bus_is_an_error(template, state_dir):
    rt = LocalRuntime(state_dir, template=template)
    with pytest.raises(ValueError, match="event bus 'nope' does not exist"):
        rt.put_events([{**entry(), "EventBusName": "nope"}])


def test_a_function_error_is_retried_per_the_function_s_event_invoke_config_not_the_rule(template, state_dir):
    rt = LocalRuntime(state_dir, template=template, env={"TEST_FAILURES": "99"})
    rt.put_events([entry(step="strict")])
    rt.run_until_quiet()
    assert len(calls(state_dir, "flaky")) == 1  # MaximumRetryAttempts 0: the rule's 5 delivery retries do not apply
    (message,) = rt.dlq.messages()
    assert message["target"] == "StrictFunction" and message["attempts"] == 1


def test_a_delivery_failure_is_retried_per_the_rule_s_retry_policy(template, state_dir):
    from alchemiser.local.chaos import Chaos

    class Undeliverable(Chaos):  # every invocation fails before the handler, while the rule allows it
        def fault(self, attempt, retries_left):  # type: ignore[no-untyped-def]
            return "transient" if attempt < 4 else None

    rt = LocalRuntime(state_dir, template=template, chaos=Undeliverable(seed=1, p_duplicate=0, p_delay=0,
                                                                        p_reorder=0))
    rt.put_events([entry(step="strict")])
    hops = rt.run_until_quiet()
    assert [h.attempt for h in hops if h.function == "strict"] == [0, 1, 2, 3, 4]
    assert len(calls(state_dir, "flaky")) == 1
    # The same event also reached EchoFunction via FailedToEcho (3 retries): undeliverable 4 times, dead-lettered.
    (message,) = rt.dlq.messages()
    assert (message["target"], message["attempts"]) == ("EchoFunction", 4) and "TransientFault" in message["error"]


def test_the_local_logs_are_json_lines_only(state_dir):
    import subprocess
    import sys

    # A subprocess: pytest would otherwise capture the warnings that used to land in the logs.
    subprocess.run([sys.executable, "-c", "import sys, datetime as d; from alchemiser.local.day import DayOptions, "
                    "run_day; run_day(DayOptions(__import__('pathlib').Path(sys.argv[1]), "
                    "d.datetime(2026, 11, 25, 14, 35, tzinfo=d.UTC)))", str(state_dir)], check=True)
    for log in (state_dir / "logs").glob("*.log"):
        for line in log.read_text().splitlines():
            if line.strip():
                assert line.startswith("{"), f"{log.name}: {line[:120]}"
