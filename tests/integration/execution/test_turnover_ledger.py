"""The daily turnover cap across every run of a day: the embedded and DynamoDB ledgers share one contract.

The DynamoDB side runs on moto with the IdempotencyTable built from infra/template.yaml. Reservations are
settled to what reached the broker; an entry whose lease expired unsettled is offered for settlement from
the broker's book, by a conditional write that loses to its run's own renewal (turnover_ledger.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from moto import mock_aws

from services.execution.dynamodb_turnover_ledger import DynamoDBTurnoverLedger
from services.execution.sqlite_turnover_ledger import SqliteTurnoverLedger
from services.execution.turnover_ledger import LEASE_SECONDS, ledger_key
from services.execution.workflow_guard import KEY_PREFIX
from tests.fakes.aws_from_template import create_table
from tests.fakes.concurrency import all_at_once, raised

D = Decimal
DAY = date(2026, 11, 25)


class Wall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture(params=["embedded", "dynamodb"])
def ledger(request, tmp_path, wall) -> Iterator:
    if request.param == "embedded":
        yield SqliteTurnoverLedger(tmp_path / "state.sqlite", wall_clock=wall)
        return
    with mock_aws():
        yield DynamoDBTurnoverLedger(create_table("IdempotencyTable"), wall_clock=wall)


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


# ---- settlement: a reservation follows what reached the broker (issue 24, item 1) --------------------

LEGS = {"alch-a-TLT-buy-0": D("100000"), "alch-a-GLD-buy-0": D("50000")}


def test_a_plan_that_placed_nothing_releases_its_reservation(ledger):
    assert ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000")).granted
    assert ledger.settle("PA1", DAY, "plan-a", D("0"))
    assert ledger.reserve("PA1", DAY, "plan-b", D("210000"), D("210000")).granted


def test_a_plan_that_placed_part_keeps_only_that_part(ledger):
    assert ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000")).granted
    ledger.settle("PA1", DAY, "plan-a", D("50000"))
    assert not ledger.reserve("PA1", DAY, "plan-b", D("160000.01"), D("210000")).granted
    refused = ledger.reserve("PA1", DAY, "plan-c", D("170000"), D("210000"))
    assert not refused.granted and refused.used_before == D("50000")
    assert ledger.reserve("PA1", DAY, "plan-d", D("160000"), D("210000")).granted


def test_an_unsettled_entry_is_offered_for_settlement_only_once_its_lease_expired(ledger, wall):
    assert ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000"), legs=LEGS).granted
    early = ledger.reserve("PA1", DAY, "plan-b", D("100000"), D("210000"))
    assert not early.granted and early.stale == {}  # its run may still be placing
    wall.now += LEASE_SECONDS + 1
    late = ledger.reserve("PA1", DAY, "plan-b", D("100000"), D("210000"))
    assert not late.granted and list(late.stale) == ["plan-a"]
    assert dict(late.stale["plan-a"].legs) == LEGS  # what to look up at the broker


def test_settling_a_stale_entry_loses_to_its_runs_renewal(ledger, wall):
    ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000"), legs=LEGS)
    wall.now += LEASE_SECONDS + 1
    seen = ledger.reserve("PA1", DAY, "plan-b", D("100000"), D("210000")).stale["plan-a"]
    assert ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000")).granted  # resumed: lease renewed
    assert not ledger.settle("PA1", DAY, "plan-a", D("0"), stale_since=seen.lease_until)
    assert not ledger.reserve("PA1", DAY, "plan-b", D("100000"), D("210000")).granted  # still counted in full


def test_a_stale_entry_settled_from_the_book_frees_the_rest_of_the_day(ledger, wall):
    ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000"), legs=LEGS)
    wall.now += LEASE_SECONDS + 1
    seen = ledger.reserve("PA1", DAY, "plan-b", D("100000"), D("210000")).stale["plan-a"]
    assert ledger.settle("PA1", DAY, "plan-a", D("100000"), stale_since=seen.lease_until)  # TLT at the broker
    assert not ledger.settle("PA1", DAY, "plan-a", D("0"), stale_since=seen.lease_until)  # once only
    assert ledger.reserve("PA1", DAY, "plan-b", D("100000"), D("210000")).granted


def test_a_resumed_plan_whose_entry_was_settled_reserves_anew_against_the_cap(ledger, wall):
    ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000"), legs=LEGS)
    wall.now += LEASE_SECONDS + 1
    seen = ledger.reserve("PA1", DAY, "plan-b", D("100000"), D("210000")).stale["plan-a"]
    ledger.settle("PA1", DAY, "plan-a", D("100000"), stale_since=seen.lease_until)
    assert ledger.reserve("PA1", DAY, "plan-b", D("100000"), D("210000")).granted
    resumed = ledger.reserve("PA1", DAY, "plan-a", D("150000"), D("210000"))  # the killed run, retried
    assert not resumed.granted and resumed.used_before == D("100000")


def test_concurrent_settlements_and_reservations_never_overshoot_the_cap(ledger):
    for n in range(4):
        ledger.reserve("PA1", DAY, f"plan-{n}", D("50000"), D("210000"))
    calls = [lambda n=n: ledger.settle("PA1", DAY, f"plan-{n}", D("10000")) for n in range(4)]
    calls += [lambda n=n: ledger.reserve("PA1", DAY, f"new-{n}", D("50000"), D("210000")) for n in range(6)]
    results = all_at_once(calls)
    assert raised(results) == []
    granted = [r for r in results[4:] if r.granted]
    day = ledger.reserve("PA1", DAY, "probe", D("0"), D("210000")).used_before
    assert day == D("40000") + 50000 * len(granted) <= D("210000") and len(granted) <= 3


def test_an_entry_written_before_settlements_reads_as_settled_at_its_amount(request, tmp_path):
    """The earlier item shapes: `plans` {plan id: amount} (SQLite document, DynamoDB map)."""
    from shared.runtime.sqlite_store import SqliteTable

    path = tmp_path / "state.sqlite"
    SqliteTable(path, "execution_turnover").transact(ledger_key("PA1", DAY), lambda _: {"plans": {"old": "200000"}})
    assert not SqliteTurnoverLedger(path).reserve("PA1", DAY, "new", D("20000"), D("210000")).granted
    with mock_aws():
        ddb = DynamoDBTurnoverLedger(create_table("IdempotencyTable"))
        ddb._client.put_item(TableName=ddb.table_name, Item={
            "id": {"S": ledger_key("PA1", DAY)}, "plans": {"M": {"old": {"S": "200000"}}}, "version": {"N": "1"}})
        refused = ddb.reserve("PA1", DAY, "new", D("20000"), D("210000"))
        assert not refused.granted and refused.used_before == D("200000")
        assert ddb.reserve("PA1", DAY, "small", D("10000"), D("210000")).granted  # and it keeps working
