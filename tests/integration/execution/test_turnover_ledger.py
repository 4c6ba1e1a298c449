"""The daily turnover cap across every run of a day: the embedded and DynamoDB ledgers share one contract.

The DynamoDB side runs on moto with the IdempotencyTable built from infra/template.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from moto import mock_aws

from services.execution.turnover_ledger import DynamoDBTurnoverLedger, SqliteTurnoverLedger, ledger_key
from services.execution.workflow_guard import KEY_PREFIX
from tests.fakes.aws_from_template import create_table
from tests.fakes.concurrency import all_at_once, raised

D = Decimal
DAY = date(2026, 11, 25)


@pytest.fixture(params=["embedded", "dynamodb"])
def ledger(request, tmp_path) -> Iterator:
    if request.param == "embedded":
        yield SqliteTurnoverLedger(tmp_path / "state.sqlite")
        return
    with mock_aws():
        yield DynamoDBTurnoverLedger(create_table("IdempotencyTable"))


def test_plans_reserve_until_the_day_is_full(ledger):
    assert ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000")).granted
    second = ledger.reserve("PA1", DAY, "plan-b", D("70000"), D("210000"))
    assert not second.granted and second.used_before == D("150000")
    assert ledger.reserve("PA1", DAY, "plan-c", D("60000"), D("210000")).granted


def test_a_plan_reserves_once_however_often_it_asks(ledger):
    for _ in range(3):
        assert ledger.reserve("PA1", DAY, "plan-a", D("200000"), D("210000")).granted
    assert ledger.reserve("PA1", DAY, "plan-b", D("20000"), D("210000")).used_before == D("200000")


def test_days_and_accounts_have_their_own_budgets(ledger):
    assert ledger.reserve("PA1", DAY, "plan-a", D("200000"), D("210000")).granted
    assert ledger.reserve("PA1", date(2026, 11, 24), "plan-b", D("200000"), D("210000")).granted
    assert ledger.reserve("PA2", DAY, "plan-c", D("200000"), D("210000")).granted


def test_concurrent_reservations_never_overshoot_the_cap(ledger):
    results = all_at_once([lambda n=n: ledger.reserve("PA1", DAY, f"plan-{n}", D("50000"), D("210000"))
                           for n in range(8)])
    assert raised(results) == []
    assert [r.granted for r in results].count(True) == 4  # 4 x 50,000 <= 210,000 < 5 x 50,000


def test_the_ledger_lives_under_the_execution_functions_key_prefix():
    assert ledger_key("PA1", DAY).startswith(KEY_PREFIX) and "#" in ledger_key("PA1", DAY)[len(KEY_PREFIX):]
