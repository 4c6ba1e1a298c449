"""The deploy guide names what the template deploys, so the two cannot drift apart."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import PROJECT_ROOT, TEST_EVENTS
from tests.infra import cfn

GUIDE = (PROJECT_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
ORIGINAL_TEST_EVENTS = ("direct-trade-event.json", "eventbridge-scheduler-trade.json",
                        "eventbridge-error-notification.json")


def _names(stage: str) -> dict[str, str]:
    resolve = cfn.resolver({"Stage": stage}).resolve
    keys = {"AWS::Events::EventBus": "Name", "AWS::Events::Archive": "ArchiveName", "AWS::SQS::Queue": "QueueName",
            "AWS::SSM::Parameter": "Name", "AWS::Scheduler::Schedule": "Name",
            "AWS::Serverless::Function": "FunctionName", "AWS::CloudWatch::Dashboard": "DashboardName",
            "AWS::SNS::Topic": "TopicName", "AWS::DynamoDB::Table": "TableName"}
    return {lid: str(resolve(res["Properties"][key])) for kind, key in keys.items()
            for lid, res in cfn.resources(kind).items()}


@pytest.mark.parametrize("name", ORIGINAL_TEST_EVENTS)
def test_the_guide_walks_through_the_three_original_console_test_events(name):
    assert (TEST_EVENTS / name).is_file()
    assert f"test-events/{name}" in GUIDE


def test_the_guide_uses_the_names_the_template_gives_a_dev_stage():
    functions = "alchemiser-{" + ",".join(cfn.SERVICES) + "}-dev"
    for lid, name in _names("dev").items():
        if lid.endswith("Function"):
            assert functions in GUIDE, functions
        else:
            assert name in GUIDE, f"docs/deploy.md does not mention {lid} ({name})"


@pytest.mark.parametrize("step", [
    "sam build", "sam deploy --config-env dev", "create-secret", "Send events", "Start replay",
    "Dashboards", "TradingMode=live", "kill-switch", "put-parameter", "sam delete",
])
def test_the_guide_covers_each_step(step):
    assert step in GUIDE


def test_the_secret_layout_in_the_guide_is_the_one_the_code_reads():
    from shared.venues.alpaca.keys import parse_secret

    (example,) = re.findall(r"```json\n(\{\n  \"api_key\".*?\})\n```", GUIDE, re.DOTALL)
    credentials = parse_secret("alchemiser/dev/alpaca", example)
    assert credentials.paper_keys is not None and credentials.live_keys is not None


def test_the_readme_points_to_the_guide():
    assert "docs/deploy.md" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------ the guide's commands and facts
def _alchemiser_commands() -> list[str]:
    """Every `alchemiser ...` command the guide shows (code blocks and inline code)."""
    found = re.findall(r"(?:\.venv/bin/)?alchemiser ((?:run|send|replay|dlq|invoke|plan|status|kill-switch)"
                       r"[^`\n#]*)", GUIDE)
    return [c.strip().rstrip(",;) ") for c in found]


def test_every_cli_command_in_the_guide_parses_as_the_cli_takes_it():
    import shlex

    from alchemiser.cli import build_parser

    commands = _alchemiser_commands()
    assert "dlq redrive MESSAGE_ID --stage dev" in commands
    assert "run --as-of 2026-11-25 --retry" in commands
    parser = build_parser()
    placeholders = {"[MESSAGE_ID ...]": "m-2", "MESSAGE_ID": "m-1", "--from ... --to ...": "--from 2026-11-25 --to "
                    "2026-11-26", "--source ... --detail-type ... --detail FILE": "--source alchemiser.strategy "
                    "--detail-type SignalGenerated --detail signal.json"}
    for command in commands:
        filled = command
        for placeholder, value in placeholders.items():
            filled = filled.replace(placeholder, value)
        try:
            parser.parse_args(shlex.split(filled))
        except SystemExit as exc:  # argparse's way of refusing (0: --help)
            if exc.code != 0:
                raise AssertionError(f"the guide shows `alchemiser {command}`, which the CLI refuses") from exc


def test_the_guide_sets_the_region_the_way_sam_and_botocore_read_it():
    assert "export AWS_DEFAULT_REGION=" in GUIDE
    assert "export AWS_REGION=" not in GUIDE
    assert "$AWS_REGION" not in GUIDE


def test_the_rotation_and_kill_switch_ages_in_the_guide_are_the_codes():
    from services.execution.ssm_kill_switch import KILL_SWITCH_MAX_AGE_SECONDS
    from services.orchestrator.adapters.webhook_notifier import WEBHOOK_URL_MAX_AGE_SECONDS
    from shared.venues.alpaca.keys import CREDENTIALS_MAX_AGE_SECONDS

    assert f"max_age={CREDENTIALS_MAX_AGE_SECONDS}" in GUIDE and CREDENTIALS_MAX_AGE_SECONDS == 300
    assert "at most **5 minutes**" in GUIDE
    assert KILL_SWITCH_MAX_AGE_SECONDS == 0 and "`max_age=0` and `force_fetch=True`" in GUIDE
    assert WEBHOOK_URL_MAX_AGE_SECONDS == 300 and "used within 5 minutes" in GUIDE


def test_the_retry_correlation_id_in_the_guide_is_the_one_the_local_retry_uses():
    import alchemiser.local.day as day

    assert "run-<date>-<mode>-retry-<n>" in (day.__doc__ or "")
    (payload,) = re.findall(r"--payload '(\{.*?\})'", GUIDE)
    command = json.loads(payload)
    assert command["mode"] == "trade"
    assert re.fullmatch(r"run-\d{4}-\d{2}-\d{2}-(paper|live)-retry-[1-9]\d*", command["correlation_id"])
    from shared.events.lambda_event import LambdaEvent

    assert LambdaEvent.model_validate(command).correlation_id == command["correlation_id"]


def test_the_webhook_secret_in_the_guide_is_what_the_notifier_reads(tmp_path):
    (url,) = re.findall(r"printf '\{\"url\": \"%s\"\}' \"(https://[^\"]+)\"", GUIDE)
    from services.orchestrator.adapters.webhook_notifier import check_url

    check_url(url)


def test_the_guide_lists_every_alarm():
    resolve = cfn.resolver({"Stage": "dev"}).resolve
    for lid, alarm in cfn.resources("AWS::CloudWatch::Alarm").items():
        name = str(resolve(alarm["Properties"]["AlarmName"]))
        shown = name if not lid.endswith("ErrorsAlarm") else "alchemiser-dev-<function>-errors"
        assert f"`{shown}`" in GUIDE, f"docs/deploy.md does not list the alarm {name}"


def test_the_guide_names_every_operating_parameter():
    for parameter in ("WebhookSecretName", "OperatorPrincipalArn", "ExecutionReservedConcurrency", "Tracing",
                      "StrategyMarketData", "TradingCalendar", "PnlSource"):
        assert parameter in cfn.raw()["Parameters"], parameter
        assert f"`{parameter}`" in GUIDE, parameter
