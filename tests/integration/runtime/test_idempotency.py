"""Idempotent operations behave the same on the embedded store and on DynamoDB (moto).

The DynamoDB table is created from infra/template.yaml, so the test covers the deployed schema.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from moto import mock_aws

from shared.runtime.idempotency import IdempotentOperation, SqlitePersistenceLayer
from tests.conftest import LambdaContextStub
from tests.fakes.aws_from_template import create_table


@pytest.fixture(params=["embedded", "dynamodb"])
def make_layer(request, tmp_path) -> Iterator:
    if request.param == "embedded":
        yield lambda: SqlitePersistenceLayer(tmp_path / "state.sqlite")
        return
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    with mock_aws():
        name = create_table("IdempotencyTable")
        yield lambda: DynamoDBPersistenceLayer(table_name=name)


def test_second_run_is_a_duplicate_returning_the_first_result(make_layer):
    op = IdempotentOperation("plan", make_layer(), expires_after_seconds=3600)
    calls: list[int] = []

    def effect() -> dict:
        calls.append(1)
        return {"status": "success", "n": len(calls)}

    first = op.run("signal-1", effect, context=LambdaContextStub())
    second = op.run("signal-1", effect, context=LambdaContextStub())
    other = op.run("signal-2", effect, context=LambdaContextStub())
    assert (first.duplicate, second.duplicate, other.duplicate) == (False, True, False)
    assert second.result == first.result == {"status": "success", "n": 1}
    assert len(calls) == 2


def test_a_new_container_sees_the_same_record(make_layer):
    IdempotentOperation("plan", make_layer(), expires_after_seconds=3600).run(
        "k", lambda: {"v": 1}, context=LambdaContextStub())
    again = IdempotentOperation("plan", make_layer(), expires_after_seconds=3600).run(
        "k", lambda: {"v": 2}, context=LambdaContextStub())
    assert again.duplicate and again.result == {"v": 1}


def test_a_failed_operation_leaves_no_record_so_a_retry_runs_it(make_layer):
    op = IdempotentOperation("plan", make_layer(), expires_after_seconds=3600)

    def boom() -> dict:
        raise RuntimeError("broker down")

    with pytest.raises(RuntimeError):
        op.run("k", boom, context=LambdaContextStub())
    assert op.run("k", lambda: {"ok": True}, context=LambdaContextStub()).result == {"ok": True}


def test_a_concurrent_run_while_in_progress_is_refused(make_layer):
    op = IdempotentOperation("exec", make_layer(), expires_after_seconds=3600)
    entered, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def slow() -> dict:
        entered.set()
        release.wait(5)
        return {"done": True}

    worker = threading.Thread(target=lambda: outcome.update(r=op.run("k", slow, context=LambdaContextStub())))
    worker.start()
    entered.wait(5)
    with pytest.raises(IdempotencyAlreadyInProgressError):
        op.run("k", lambda: {"done": "twice"}, context=LambdaContextStub())
    release.set()
    worker.join()
    assert outcome["r"].result == {"done": True}


def test_an_in_progress_record_past_the_lambda_timeout_can_be_taken_over(make_layer):
    # A crashed invocation leaves INPROGRESS; once its Lambda deadline has passed, a retry runs.
    layer = make_layer()
    op = IdempotentOperation("exec", layer, expires_after_seconds=3600)

    class Crash(BaseException):
        pass

    def crash() -> dict:
        raise Crash  # BaseException: Powertools does not clean up, like a killed container

    with pytest.raises(Crash):
        op.run("k", crash, context=LambdaContextStub(remaining_ms=0))
    assert op.run("k", lambda: {"second": True}, context=LambdaContextStub()).result == {"second": True}
