"""`alchemiser init --stage`: samconfig.toml written keeping what it had, the Alpaca secret created or
updated in credentials.py's layout, keys never printed, and a second run changes nothing."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import boto3
import pytest
import tomlkit
from moto import mock_aws

from alchemiser import cli
from alchemiser.commands.init import format_overrides, parse_overrides
from shared.venues.alpaca.keys import parse_secret

SAMCONFIG = Path(__file__).resolve().parents[3] / "infra" / "samconfig.toml"
PAPER = {"APCA_API_KEY_ID": "PKPAPERKEY", "APCA_API_SECRET_KEY": "paper-secret-value"}


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "APCA_LIVE_API_KEY_ID", "APCA_LIVE_API_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager")


@pytest.fixture
def samconfig(tmp_path):
    path = tmp_path / "samconfig.toml"
    shutil.copy(SAMCONFIG, path)
    return path


def _init(samconfig: Path, *flags: str) -> int:
    return cli.main(["init", "--stage", "dev", "--samconfig", str(samconfig), "--yes", *flags])


def _secret(secrets, name: str = "alchemiser/dev/alpaca") -> dict:
    return json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])


def test_init_writes_the_stage_keeps_comments_and_other_sections_and_creates_the_secret(aws, samconfig, monkeypatch,
                                                                                       capsys):
    original = samconfig.read_text()
    for name, value in PAPER.items():
        monkeypatch.setenv(name, value)
    assert _init(samconfig, "--email", "ops@example.com", "--region", "eu-west-1") == 0
    out = capsys.readouterr().out
    assert "PKPAPERKEY" not in out and "paper-secret-value" not in out
    assert "secret alchemiser/dev/alpaca: created (paper keys)" in out and "make deploy STAGE=dev" in out
    text = samconfig.read_text()
    for line in original.splitlines():  # every comment and every other line is still there
        if not line.startswith("parameter_overrides = \"Stage=dev"):
            assert line in text
    config = tomlkit.parse(text)
    dev = config["dev"]["deploy"]["parameters"]
    assert parse_overrides(dev["parameter_overrides"]) == {"Stage": "dev", "TradingMode": "paper",
                                                           "NotificationEmail": "ops@example.com"}
    assert config["dev"]["global"]["parameters"]["region"] == "eu-west-1"
    assert config["prod"]["deploy"]["parameters"]["parameter_overrides"] == "Stage=prod TradingMode=paper"
    secret = boto3.client("secretsmanager", region_name="eu-west-1").get_secret_value(SecretId="alchemiser/dev/alpaca")
    credentials = parse_secret("alchemiser/dev/alpaca", secret["SecretString"])
    assert credentials.keys_for_mode("paper").api_key == "PKPAPERKEY"

    assert _init(samconfig) == 0  # again, nothing given: nothing changes
    assert samconfig.read_text() == text
    assert "unchanged" in capsys.readouterr().out


def test_init_again_with_live_keys_adds_them_and_keeps_the_paper_pair(aws, samconfig, monkeypatch, capsys):
    aws.create_secret(Name="alchemiser/dev/alpaca",
                      SecretString=json.dumps({"api_key": "PKOLD", "secret_key": "old", "note": "mine"}))
    monkeypatch.setattr("sys.stdin", io.StringIO("APCA_LIVE_API_KEY_ID=AKLIVE\nAPCA_LIVE_API_SECRET_KEY=live-s\n"))
    assert _init(samconfig, "--keys-stdin", "--trading-mode", "live") == 0
    out = capsys.readouterr().out
    assert "AKLIVE" not in out and "live-s" not in out and "updated (paper, live keys" in out
    assert _secret(aws) == {"api_key": "PKOLD", "secret_key": "old", "note": "mine", "live_api_key": "AKLIVE",
                            "live_secret_key": "live-s"}
    overrides = parse_overrides(tomlkit.parse(samconfig.read_text())["dev"]["deploy"]["parameters"]
                                ["parameter_overrides"])
    assert overrides["TradingMode"] == "live"


def test_init_refuses_live_mode_without_live_keys_and_writes_nothing(aws, samconfig, monkeypatch, capsys):
    for name, value in PAPER.items():
        monkeypatch.setenv(name, value)
    before = samconfig.read_text()
    assert _init(samconfig, "--trading-mode", "live") == 2
    err = capsys.readouterr().err
    assert "no live keys" in err and "paper-secret-value" not in err
    assert samconfig.read_text() == before
    assert aws.list_secrets()["SecretList"] == []


def test_init_refuses_half_a_pair(aws, samconfig, monkeypatch, capsys):
    monkeypatch.setenv("APCA_API_KEY_ID", "PKONLY")
    assert _init(samconfig) == 2
    assert "all or nothing" in capsys.readouterr().err


def test_init_without_keys_writes_the_config_and_says_how_to_create_the_secret(aws, tmp_path, capsys):
    path = tmp_path / "new" / "samconfig.toml"
    assert _init(path) == 0
    assert "not created (no keys given)" in capsys.readouterr().out
    config = tomlkit.parse(path.read_text())
    assert config["dev"]["deploy"]["parameters"]["stack_name"] == "alchemiser-dev"
    assert aws.list_secrets()["SecretList"] == []


def test_overrides_round_trip_with_quoting():
    values = {"Stage": "dev", "NotificationEmail": "", "TradingSchedule": "cron(35 9 ? * MON-FRI *)"}
    assert parse_overrides(format_overrides(values)) == values
