"""`alchemiser status` and `alchemiser kill-switch`: locally from the state dir, with --stage on moto."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from alchemiser import cli
from alchemiser.commands.kill_switch import parameter_name
from alchemiser.commands.status import alarm_names, stage_table
from alchemiser.local.storage import DeadLetterQueue
from services.orchestrator.adapters.dynamodb_workflow_store import DynamoDBWorkflowStore
from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore
from services.orchestrator.workflow_record import Failure, WorkflowRecord
from shared.broker.port import OrderRequest
from shared.venues.simulated.broker import SimulatedBroker
from tests.fakes.aws_from_template import create_queue, create_table
from tests.fakes.fake_alpaca import running_fake_alpaca

T0 = datetime(2026, 11, 25, 14, 35, tzinfo=UTC)


def _record(day: int, status: str = "completed", failure: Failure | None = None) -> WorkflowRecord:
    start = T0 + timedelta(days=day)
    steps = {"started": start, "signals": start + timedelta(seconds=2), "planned": start + timedelta(seconds=5)}
    steps[status] = start + timedelta(seconds=9)
    return WorkflowRecord(correlation_id=f"run-{(date(2026, 11, 25) + timedelta(days=day)).isoformat()}-paper",
                          trading_mode="paper", status=status, trading_date=start.date(), created_at=start,
                          last_progress_at=start, steps=steps, last_event_id=f"e{day}", last_hop=3, failure=failure)


FAILED = Failure(step="execution", reason="BrokerUnavailable: timed out", error_type="BrokerUnavailable")


def _status(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = cli.main(["status", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_local_status_reads_workflows_switch_account_and_dlq(tmp_path, capsys):
    state = tmp_path / "state"
    store = EmbeddedWorkflowStore(state / "state.sqlite")
    for day in range(3):
        assert store.save(_record(day), expected_version=0)
    assert store.save(_record(3, "failed", FAILED), expected_version=0)
    broker = SimulatedBroker(state, lambda s: Decimal("50"), calendar=None, now=lambda: T0)  # type: ignore[arg-type]
    broker.submit_order(OrderRequest("c1", "SPY", "buy", qty=Decimal("10")))
    DeadLetterQueue(state).send({"detail-type": "RebalancePlanned", "detail": {}}, rule="r", target="Execution",
                                error="boom", attempts=3, failed_at=T0)
    (state / "kill-switch").write_text("reducing\n")

    code, status = _status(["--state-dir", str(state), "--last", "2"], capsys)
    assert code == 0
    assert [w["correlation_id"] for w in status["workflows"]] == ["run-2026-11-28-paper", "run-2026-11-27-paper"]
    newest = status["workflows"][0]
    assert newest["status"] == "failed" and newest["failure"] == "execution: BrokerUnavailable: timed out"
    assert [(s["step"], s["after_seconds"]) for s in newest["steps"]] == [
        ("started", 0.0), ("signals", 2.0), ("planned", 5.0), ("failed", 9.0)]
    assert status["kill_switch"]["state"] == "reducing"
    assert Decimal(status["account"]["equity"]) == 100000 and Decimal(status["account"]["cash"]) == 99500
    assert [(p["symbol"], p["qty"], p["market_value"]) for p in status["account"]["positions"]] == [
        ("SPY", "10", "500.00")]
    assert status["dlq_depth"] == 1 and status["alarms"] is None


def test_local_status_of_an_empty_state_dir_creates_nothing(tmp_path, capsys):
    state = tmp_path / "none"
    code = cli.main(["status", "--state-dir", str(state)])
    out = capsys.readouterr().out
    assert code == 0 and "Workflows: none yet" in out and "Kill switch: ACTIVE" in out and "Account: none yet" in out
    assert not state.exists()


def test_local_status_text_shows_the_failure_and_a_typo_in_the_switch_as_halted(tmp_path, capsys):
    state = tmp_path / "s"
    assert EmbeddedWorkflowStore(state / "state.sqlite").save(_record(0, "failed", FAILED), expected_version=0)
    (state / "kill-switch").write_text("actve\n")
    assert cli.main(["status", "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    assert "run-2026-11-25-paper  2026-11-25  FAILED" in out and "why: execution: BrokerUnavailable" in out
    assert "Kill switch: HALTED" in out and "unknown value 'actve'" in out


def test_kill_switch_sets_the_local_file_and_prints_the_previous_state(tmp_path, capsys):
    state = tmp_path / "s"
    assert cli.main(["kill-switch", "halted", "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out.strip() == f"kill switch active -> halted (file {state / 'kill-switch'})"
    assert (state / "kill-switch").read_text() == "halted\n"
    assert cli.main(["kill-switch", "active", "--state-dir", str(state), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["previous"] == "halted"
    assert cli.main(["kill-switch", "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out.startswith("kill switch active")
    assert sorted(p.name for p in state.iterdir()) == ["kill-switch"]  # no scratch file left behind


def test_kill_switch_refuses_an_unknown_state(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["kill-switch", "stop", "--state-dir", str(tmp_path)])
    assert done.value.code == 2 and "invalid choice" in capsys.readouterr().err


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with mock_aws():
        yield


def test_kill_switch_on_a_stage_puts_the_ssm_parameter(aws, capsys):
    ssm = boto3.client("ssm")
    name = parameter_name("dev")
    assert name == "/alchemiser/dev/kill-switch"
    ssm.put_parameter(Name=name, Value="active", Type="String")
    assert cli.main(["kill-switch", "reducing", "--stage", "dev"]) == 0
    assert capsys.readouterr().out.startswith(f"kill switch active -> reducing (SSM parameter {name})")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "reducing"


def test_kill_switch_on_a_stage_without_the_parameter_says_it_read_halted(aws, capsys):
    assert cli.main(["kill-switch", "active", "--stage", "dev", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["previous"] == "halted" and "ParameterNotFound" in out["detail"] and out["state"] == "active"
    assert boto3.client("ssm").get_parameter(Name="/alchemiser/dev/kill-switch")["Parameter"]["Value"] == "active"


def test_stage_status_reads_table_ssm_sqs_cloudwatch_and_alpaca(aws, monkeypatch, capsys):
    table = create_table("WorkflowTable")
    assert table == stage_table("dev")
    store = DynamoDBWorkflowStore(table, boto3.client("dynamodb"))
    for day in range(2):
        assert store.save(_record(day), expected_version=0)
    assert store.save(_record(2, "failed", FAILED), expected_version=0)
    boto3.client("ssm").put_parameter(Name="/alchemiser/dev/kill-switch", Value="halted", Type="String")
    url = create_queue("EventDLQ")
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="{}")
    cloudwatch = boto3.client("cloudwatch")
    names = alarm_names("dev")
    assert "alchemiser-dev-dlq-not-empty" in names
    for name in names[:-1]:  # the last one is not deployed
        cloudwatch.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="X", Statistic="Sum", Period=60,
                                    EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName="alchemiser-dev-dlq-not-empty", StateValue="ALARM",
                               StateReason="1 message in the DLQ")
    boto3.client("secretsmanager").create_secret(
        Name="alchemiser/dev/alpaca", SecretString=json.dumps({"api_key": "PKFAKEKEY", "secret_key": "fake-secret"}))
    from shared.venues.alpaca.keys import clear_credentials_cache

    clear_credentials_cache()
    with running_fake_alpaca() as fake:
        fake.set_price("SPY", "400")
        fake.set_position("SPY", "10", avg_entry_price="390")
        monkeypatch.setenv("ALCHEMISER_ALPACA_TRADING_URL", fake.url)
        code, status = _status(["--stage", "dev"], capsys)
    clear_credentials_cache()
    assert code == 0, status.get("problems")
    assert [w["status"] for w in status["workflows"]] == ["failed", "completed", "completed"]
    assert status["workflows"][0]["failure"].startswith("execution: BrokerUnavailable")
    assert status["kill_switch"]["state"] == "halted" and status["kill_switch"]["detail"] is None
    assert status["dlq_depth"] == 1
    assert [a["name"] for a in status["alarms"]["in_alarm"]] == ["alchemiser-dev-dlq-not-empty"]
    assert status["alarms"]["missing"] == [names[-1]]
    assert [(p["symbol"], p["qty"]) for p in status["account"]["positions"]] == [("SPY", "10")]
    assert "Alpaca paper" in status["account"]["source"]


def test_stage_status_shows_what_it_can_when_a_part_is_missing(aws, capsys):
    boto3.client("ssm").put_parameter(Name="/alchemiser/dev/kill-switch", Value="active", Type="String")
    code = cli.main(["status", "--stage", "dev"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Kill switch: ACTIVE" in captured.out
    assert "could not read workflows: not found on stage dev" in captured.out
    assert "could not read account:" in captured.out and "fake-secret" not in captured.out


def test_stage_status_reads_the_account_with_the_stages_samconfig_mode_and_secret(aws, tmp_path, monkeypatch, capsys):
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text('version = 0.1\n[dev.deploy.parameters]\nstack_name = "alchemiser-dev"\n'
                         'parameter_overrides = "Stage=dev TradingMode=live AlpacaSecretName=team/alpaca-dev"\n')
    boto3.client("secretsmanager").create_secret(Name="team/alpaca-dev", SecretString=json.dumps(
        {"api_key": "PKOTHER", "secret_key": "other", "live_api_key": "PKFAKEKEY", "live_secret_key": "fake-secret"}))
    from shared.venues.alpaca.keys import clear_credentials_cache

    clear_credentials_cache()
    with running_fake_alpaca() as fake:
        monkeypatch.setenv("ALCHEMISER_ALPACA_TRADING_URL", fake.url)
        cli.main(["status", "--stage", "dev", "--samconfig", str(samconfig), "--json"])
        status = json.loads(capsys.readouterr().out)
        assert status["account"]["source"] == "Alpaca live (secret team/alpaca-dev)", status.get("problems")
        cli.main(["status", "--stage", "dev", "--samconfig", str(samconfig), "--mode", "paper", "--json"])
        status = json.loads(capsys.readouterr().out)
    clear_credentials_cache()
    assert status["account"] is None and any("401" in p for p in status["problems"])  # the paper pair is not the fake's
