"""The kill switch: three states, read every time, anything unreadable or unknown fails closed as halted."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from services.execution.dependencies import kill_switch_for
from services.execution.file_kill_switch import FileKillSwitch
from services.execution.kill_switch import UnconfiguredKillSwitch
from services.execution.settings import ExecutionSettings
from services.execution.ssm_kill_switch import SsmKillSwitch

PARAMETER = "/alchemiser/dev/kill-switch"


# ---- file (local) --------------------------------------------------------------------------------

def test_no_file_means_active(tmp_path):
    reading = FileKillSwitch(tmp_path / "kill-switch").read()
    assert (reading.state, reading.detail) == ("active", None)


@pytest.mark.parametrize("text,state", [("active", "active"), ("reducing\n", "reducing"), ("  HALTED  ", "halted"),
                                        ("Reducing\nflipped by ops at 10:02", "reducing")])
def test_file_states_are_read_case_and_whitespace_insensitively(tmp_path, text, state):
    path = tmp_path / "kill-switch"
    path.write_text(text)
    assert FileKillSwitch(path).read().state == state


@pytest.mark.parametrize("text", ["", "stop", "activ", "on"])
def test_an_unknown_or_empty_file_fails_closed_as_halted_and_says_so(tmp_path, text):
    path = tmp_path / "kill-switch"
    path.write_text(text)
    reading = FileKillSwitch(path).read()
    assert reading.state == "halted"
    assert "unknown value" in reading.detail and "failing closed" in reading.detail
    assert str(path) in reading.describe()


def test_an_unreadable_file_fails_closed(tmp_path):
    path = tmp_path / "kill-switch"
    path.mkdir()  # a directory where the file should be
    reading = FileKillSwitch(path).read()
    assert reading.state == "halted" and "unreadable" in reading.detail


def test_the_file_is_read_on_every_call(tmp_path):
    path = tmp_path / "kill-switch"
    switch = FileKillSwitch(path)
    assert switch.read().state == "active"
    path.write_text("halted")
    assert switch.read().state == "halted"
    path.write_text("reducing")
    assert switch.read().state == "reducing"


# ---- SSM (AWS) -----------------------------------------------------------------------------------

@pytest.fixture
def ssm():
    with mock_aws():
        yield boto3.client("ssm")


@pytest.mark.parametrize("value", ["active", "reducing", "halted"])
def test_ssm_parameter_states(ssm, value):
    ssm.put_parameter(Name=PARAMETER, Value=value, Type="String")
    assert SsmKillSwitch(PARAMETER, ssm).read().state == value


def test_ssm_is_read_on_every_call_without_a_cache(ssm):
    ssm.put_parameter(Name=PARAMETER, Value="active", Type="String")
    switch = SsmKillSwitch(PARAMETER, ssm)
    assert switch.read().state == "active"
    ssm.put_parameter(Name=PARAMETER, Value="halted", Type="String", Overwrite=True)
    assert switch.read().state == "halted"


def test_a_missing_ssm_parameter_fails_closed_as_halted(ssm):
    reading = SsmKillSwitch(PARAMETER, ssm).read()
    assert reading.state == "halted"
    assert "ParameterNotFound" in reading.detail and PARAMETER in reading.describe()


def test_an_unknown_ssm_value_fails_closed_as_halted(ssm):
    ssm.put_parameter(Name=PARAMETER, Value="paused", Type="String")
    reading = SsmKillSwitch(PARAMETER, ssm).read()
    assert reading.state == "halted" and "'paused'" in reading.detail


def test_the_ssm_adapter_builds_its_own_client(ssm):
    ssm.put_parameter(Name=PARAMETER, Value="reducing", Type="String")
    assert SsmKillSwitch(PARAMETER).read().state == "reducing"


# ---- wiring --------------------------------------------------------------------------------------

def test_local_mode_reads_the_file_in_the_state_dir(tmp_path):
    settings = ExecutionSettings(backend="local", state_dir=tmp_path)
    (tmp_path / "kill-switch").write_text("reducing")
    assert kill_switch_for(settings).read().state == "reducing"


def test_aws_mode_reads_the_configured_parameter(ssm):
    ssm.put_parameter(Name=PARAMETER, Value="halted", Type="String")
    switch = kill_switch_for(ExecutionSettings(kill_switch_parameter=PARAMETER))
    assert isinstance(switch, SsmKillSwitch) and switch.read().state == "halted"


def test_aws_mode_without_a_parameter_name_is_halted():
    switch = kill_switch_for(ExecutionSettings())
    assert isinstance(switch, UnconfiguredKillSwitch)
    reading = switch.read()
    assert reading.state == "halted" and "ALCHEMISER_KILL_SWITCH_PARAMETER" in reading.detail


def test_ssm_reads_go_through_powertools_parameters_never_from_its_cache(ssm, monkeypatch):
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    calls = []
    real_get = SSMProvider.get

    def spy(self, name, *args, **kwargs):
        calls.append((name, kwargs.get("max_age"), kwargs.get("force_fetch")))
        return real_get(self, name, *args, **kwargs)

    monkeypatch.setattr(SSMProvider, "get", spy)
    api_calls = []
    ssm.meta.events.register("before-call.ssm.GetParameter", lambda **_: api_calls.append(1))
    ssm.put_parameter(Name=PARAMETER, Value="active", Type="String")
    switch = SsmKillSwitch(PARAMETER, ssm)
    for _ in range(3):
        assert switch.read().state == "active"
    assert calls == [(PARAMETER, 0, True)] * 3 and len(api_calls) == 3
