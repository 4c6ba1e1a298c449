"""`--stage` commands find the stage where `alchemiser init` put it: the region init wrote into samconfig.toml."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from alchemiser import cli


@pytest.fixture
def no_region(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def samconfig(tmp_path):
    """What `alchemiser init --stage dev --region eu-west-1` writes."""
    path = tmp_path / "samconfig.toml"
    path.write_text('version = 0.1\n\n[dev.global.parameters]\nregion = "eu-west-1"\n\n[dev.deploy.parameters]\n'
                    'stack_name = "alchemiser-dev"\nparameter_overrides = "Stage=dev TradingMode=paper"\n')
    return path


def test_kill_switch_and_status_use_the_region_init_wrote(no_region, samconfig, capsys):
    assert cli.main(["kill-switch", "halted", "--stage", "dev", "--samconfig", str(samconfig)]) == 0
    ssm = boto3.client("ssm", region_name="eu-west-1")
    assert ssm.get_parameter(Name="/alchemiser/dev/kill-switch")["Parameter"]["Value"] == "halted"
    capsys.readouterr()
    cli.main(["status", "--stage", "dev", "--samconfig", str(samconfig)])
    out = capsys.readouterr().out
    assert "Kill switch: HALTED" in out and "no AWS region" not in out


def test_no_region_anywhere_names_aws_default_region_as_the_deploy_guide_does(no_region, tmp_path, capsys):
    empty = tmp_path / "empty.toml"
    empty.write_text("version = 0.1\n")
    assert cli.main(["kill-switch", "--stage", "dev", "--samconfig", str(empty)]) == 1
    err = capsys.readouterr().err
    assert "no AWS region: set AWS_DEFAULT_REGION (export AWS_DEFAULT_REGION=us-east-1" in err
    assert "alchemiser init --stage dev" in err
