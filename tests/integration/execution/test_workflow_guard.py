"""One plan per workflow: the embedded and DynamoDB guards honour the same contract.

The DynamoDB side runs on moto with the IdempotencyTable built from infra/template.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from services.execution.dynamodb_workflow_guard import DynamoDBWorkflowGuard
from services.execution.sqlite_workflow_guard import SqliteWorkflowGuard
from services.execution.workflow_guard import WorkflowClaim
from tests.fakes.aws_from_template import create_table
from tests.fakes.clock import WallClock
from tests.fakes.concurrency import all_at_once, raised


@pytest.fixture(params=["embedded", "dynamodb"])
def make_guard(request, tmp_path) -> Iterator:
    clock = WallClock()
    if request.param == "embedded":
        yield (lambda ttl=3600: SqliteWorkflowGuard(tmp_path / "state.sqlite", ttl_seconds=ttl,
                                                    wall_clock=clock)), clock
        return
    with mock_aws():
        name = create_table("IdempotencyTable")
        yield (lambda ttl=3600: DynamoDBWorkflowGuard(name, ttl_seconds=ttl, wall_clock=clock)), clock


def test_the_first_plan_claims_the_workflow(make_guard):
    make, _ = make_guard
    guard = make()
    assert guard.peek("wf-1") is None
    assert guard.claim("wf-1", "plan-a") == WorkflowClaim("wf-1", "plan-a")
    assert guard.peek("wf-1") == WorkflowClaim("wf-1", "plan-a")


def test_the_same_plan_claims_again_and_another_plan_finds_it_held(make_guard):
    make, _ = make_guard
    guard = make()
    guard.claim("wf-1", "plan-a")
    assert guard.claim("wf-1", "plan-a").plan_id == "plan-a"
    held = guard.claim("wf-1", "plan-b")
    assert held.plan_id == "plan-a" and held.held_by_other("plan-b")
    assert guard.claim("wf-2", "plan-b").plan_id == "plan-b"


def test_finish_marks_the_claim_done_only_for_its_plan(make_guard):
    make, _ = make_guard
    guard = make()
    guard.claim("wf-1", "plan-a")
    guard.finish("wf-1", "plan-b", "executed")
    assert guard.peek("wf-1").done is False
    guard.finish("wf-1", "plan-a", "partial")
    assert guard.peek("wf-1") == WorkflowClaim("wf-1", "plan-a", done=True, status="partial")
    assert make().peek("wf-1").done  # a new container sees it


def test_an_expired_claim_is_free_again(make_guard):
    make, clock = make_guard
    guard = make(ttl=60)
    guard.claim("wf-1", "plan-a")
    clock.now += 61
    assert guard.peek("wf-1") is None
    assert guard.claim("wf-1", "plan-b").plan_id == "plan-b"


def test_concurrent_claims_by_two_plans_give_the_workflow_to_exactly_one(make_guard):
    make, _ = make_guard
    guard = make()
    results = all_at_once([lambda i=i: guard.claim("wf-race", f"plan-{i % 2}") for i in range(6)])
    assert raised(results) == []
    assert len({r.plan_id for r in results}) == 1


def test_dynamodb_items_use_a_prefix_of_their_own():
    with mock_aws():
        name = create_table("IdempotencyTable")
        DynamoDBWorkflowGuard(name, ttl_seconds=60).claim("wf-1", "plan-a")
        item = boto3.client("dynamodb").get_item(TableName=name, Key={"id": {"S": "execution-workflow#wf-1"}})["Item"]
        assert item["plan_id"] == {"S": "plan-a"} and "expiration" in item


def test_a_refusal_takes_the_workflow_for_good(make_guard):
    make, _ = make_guard
    guard = make()
    refused = guard.refuse("wf-1", "plan-a", "halted", "kill switch halted; nothing placed")
    assert (refused.plan_id, refused.refused, refused.done, refused.status) == ("plan-a", True, True, "halted")
    assert guard.peek("wf-1") == refused and refused.reason == "kill switch halted; nothing placed"
    assert guard.claim("wf-1", "plan-a").refused  # the same plan cannot claim it to trade later
    assert guard.claim("wf-1", "plan-b").held_by_other("plan-b")


def test_a_refusal_does_not_take_a_workflow_another_plan_claimed(make_guard):
    make, _ = make_guard
    guard = make()
    guard.claim("wf-1", "plan-a")
    holder = guard.refuse("wf-1", "plan-b", "rejected", "stale plan")
    assert holder.plan_id == "plan-a" and not holder.refused
