"""The Scheduler's schedules: valid expressions and time zones, their targets, and the local reader."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alchemiser.local.template import load_template
from tests.infra import cfn
from tests.infra.schedule_expressions import check_cron, check_expression, check_timezone

SCHEDULE = "AWS::Scheduler::Schedule"


def schedule_problems(template: dict[str, Any], parameters: dict[str, str] | None = None) -> list[str]:
    """Every schedule whose expression or time zone EventBridge Scheduler would refuse."""
    resolver = cfn.resolver(parameters, template)
    problems = []
    for lid, res in cfn.resources(SCHEDULE, template).items():
        props = res["Properties"]
        try:
            check_expression(str(resolver.resolve(props["ScheduleExpression"])))
            check_timezone(str(resolver.resolve(props.get("ScheduleExpressionTimezone", "UTC"))))
        except ValueError as exc:
            problems.append(f"{lid}: {exc}")
    return problems


def test_every_schedule_expression_and_time_zone_is_valid():
    assert schedule_problems(cfn.raw()) == []


@pytest.mark.parametrize(("parameter", "value"), [
    ("TradingSchedule", "cron(35 9 * * MON-FRI *)"),       # day-of-month and day-of-week both set
    ("TradingSchedule", "cron(35 9 ? * MON-FRI)"),         # five fields (Unix cron)
    ("TradingSchedule", "cron(61 9 ? * MON-FRI *)"),       # minute out of range
    ("TradingSchedule", "cron(35 9 ? * MON-FRY *)"),       # no such day
    ("TradingSchedule", "rate(1 hours)"),
    ("TradingSchedule", "every day at 9:35"),
    ("TradingScheduleTimezone", "America/NewYork"),
    ("TradingScheduleTimezone", "EST5EDT-ish"),
])
def test_a_bad_schedule_in_a_modified_copy_of_the_template_is_caught(parameter, value):
    template = cfn.raw()
    template["Parameters"][parameter]["Default"] = value
    assert schedule_problems(template) != []
    assert schedule_problems(cfn.raw(), {parameter: value}) != []


@pytest.mark.parametrize("expression", [
    "cron(35 9 ? * MON-FRI *)", "cron(0/15 * * * ? *)", "cron(0 14 L * ? *)", "cron(0 10 ? * 6#3 *)",
    "cron(0 18 ? * 2-6 2026-2030)", "rate(15 minutes)", "rate(1 day)", "at(2026-11-25T09:35:00)",
])
def test_the_expression_checker_accepts_what_the_scheduler_accepts(expression):
    check_expression(expression)


def test_the_daily_run_starts_the_strategy_with_a_trade_command_at_935_new_york_on_weekdays():
    (spec,) = [s for s in load_template().schedules if s.logical_id == "DailyTradingSchedule"]
    assert (spec.expression, spec.timezone) == ("cron(35 9 ? * MON-FRI *)", "America/New_York")
    assert spec.target.function == "StrategyFunction"
    assert spec.target.input == {"mode": "trade"}


def test_the_local_reader_sees_both_schedules_with_their_inputs_and_dead_letter_queue():
    schedules = {s.logical_id: s for s in load_template().schedules}
    assert set(schedules) == {"DailyTradingSchedule", "StuckWorkflowCheckSchedule"}
    stuck = schedules["StuckWorkflowCheckSchedule"]
    assert stuck.target.function == "OrchestratorFunction"
    assert stuck.target.input == {"action": "check_stuck_workflows"}
    assert all(s.target.dead_letter_queue == "EventDLQ" for s in schedules.values())
    assert load_template(parameters={"TradingSchedule": "cron(0 10 ? * MON-FRI *)"}).schedules[0].expression == \
        "cron(0 10 ? * MON-FRI *)"


def test_every_schedule_has_a_retry_policy_a_dead_letter_queue_its_own_role_and_no_flexible_window():
    for lid, res in cfn.resources(SCHEDULE).items():
        props = res["Properties"]
        target = props["Target"]
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}, lid
        assert {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(target["RetryPolicy"]), lid
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventDLQ", "Arn"]}, lid
        role = target["RoleArn"]["Fn::GetAtt"][0]
        trust = cfn.resources("AWS::IAM::Role")[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}], lid
        assert isinstance(target["Input"], str), f"{lid}: Input must be a JSON string (the local runtime reads it)"
        assert target["Arn"] == {"Fn::GetAtt": [target["Arn"]["Fn::GetAtt"][0], "Arn"]}, lid


def _utc_hour_of(expression: str, timezone: str, day: date) -> int:
    minutes, hours, *_ = check_cron(expression.removeprefix("cron(").removesuffix(")"))
    local = datetime(day.year, day.month, day.day, int(hours), int(minutes), tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC")).hour


def test_the_no_completion_alarm_window_covers_the_default_run_in_summer_and_in_winter():
    params = cfn.raw()["Parameters"]
    deadline = int(params["CompletionDeadlineHourUtc"]["Default"])
    window = int(params["CompletionWindowHours"]["Default"])
    assert window <= deadline
    for day in (date(2026, 1, 14), date(2026, 7, 15)):  # EST and EDT
        hour = _utc_hour_of(params["TradingSchedule"]["Default"], params["TradingScheduleTimezone"]["Default"], day)
        assert deadline - window <= hour < deadline, (day, hour)
