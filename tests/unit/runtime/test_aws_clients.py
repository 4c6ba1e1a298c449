"""One cached boto3 client per (service, region, endpoint): reused, re-keyed when the environment moves, clearable."""

from __future__ import annotations

import threading

import pytest

from shared.runtime import aws_clients


def test_the_same_service_gets_the_same_client():
    first = aws_clients.client("dynamodb")
    assert aws_clients.client("dynamodb") is first
    assert aws_clients.client("events") is not first
    assert first.meta.service_model.service_name == "dynamodb"
    assert first.meta.region_name == "us-east-1"  # the environment's region (tests/conftest.py)


def test_a_region_is_part_of_the_key():
    home = aws_clients.client("dynamodb")
    other = aws_clients.client("dynamodb", region="eu-west-1")
    assert other is not home and other.meta.region_name == "eu-west-1"
    assert aws_clients.client("dynamodb", region="eu-west-1") is other


def test_a_changed_default_region_builds_a_new_client(monkeypatch: pytest.MonkeyPatch):
    east = aws_clients.client("sns")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    west = aws_clients.client("sns")
    assert west is not east and west.meta.region_name == "us-west-2"


def test_the_endpoint_comes_from_aws_endpoint_url_as_boto3_reads_it(monkeypatch: pytest.MonkeyPatch):
    default = aws_clients.client("s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    local = aws_clients.client("s3")
    assert local is not default and local.meta.endpoint_url == "http://127.0.0.1:4566"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    assert aws_clients.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:8000"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    assert aws_clients.client("s3") is default


def test_clear_forgets_every_client():
    before = aws_clients.client("dynamodb")
    aws_clients.clear()
    after = aws_clients.client("dynamodb")
    assert after is not before
    assert aws_clients.client("dynamodb") is after


def test_concurrent_first_calls_share_one_client():
    got: list[object] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        got.append(aws_clients.client("ssm"))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8 and all(c is got[0] for c in got)
