"""The client order id recipe: from the workflow (date, mode, account, correlation id), never the plan."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.broker.order_ids import ClientOrderIdError, WorkflowKey, client_order_id, plan_order_ids, validate

SAFE = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
IDENTIFIER = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}\Z")
ACCOUNT = st.from_regex(r"\A[A-Za-z0-9\-]{1,64}\Z")
SYMBOL = st.from_regex(r"\A[A-Z][A-Z0-9./\-_]{0,14}\Z")
DAY = date(2026, 11, 25)


def wf(correlation_id: str = "run-2026-11-25-paper", account: str = "PA-1", day: date = DAY,
       mode: str = "paper") -> WorkflowKey:
    return WorkflowKey(day, mode, account, correlation_id)


def test_the_recipe_reads_date_mode_workflow_digest_symbol_side_and_leg():
    coid = client_order_id(wf(), "TQQQ", "buy", 0)
    assert re.fullmatch(r"alch-20261125-paper-[0-9a-f]{16}-TQQQ-buy-0", coid)


def test_the_same_workflow_always_gives_the_same_id_whatever_the_plan():
    # Two runs of one day with different plans (timestamped snapshots) share their ids: the broker
    # refuses the second plan's orders, so a second plan for one workflow can never fill twice.
    assert client_order_id(wf(), "SPY", "sell", 2) == client_order_id(wf(), "SPY", "sell", 2)


def test_ids_differ_per_symbol_side_leg_workflow_account_date_and_mode():
    ids = {client_order_id(wf(cid, account, day, mode), symbol, side, leg)
           for cid, account, day, mode, symbol, side, leg in itertools.product(
               ("run-2026-11-25-paper", "run-2026-11-25-paper-retry-1"), ("PA-1", "PA-2"),
               (DAY, date(2026, 11, 24)), ("paper", "live"), ("SPY", "BRK.B"), ("buy", "sell"), (0, 1))}
    assert len(ids) == 2 ** 7


def test_parts_cannot_be_shifted_into_each_other():
    # Crafted parts that concatenate to the same text still give different ids (length-prefixed digest).
    assert client_order_id(wf("ab", "c"), "SPY", "buy", 0) != client_order_id(wf("a", "bc"), "SPY", "buy", 0)
    assert client_order_id(wf("x-SPY"), "QQQ", "buy", 0) != client_order_id(wf("x"), "SPY-QQQ", "buy", 0)


def test_a_symbol_with_a_separator_or_odd_characters_is_replaced_by_its_digest():
    coid = client_order_id(wf(), "BRK-B", "sell", 0)
    assert SAFE.fullmatch(coid) and coid.count("-") == 6
    assert coid != client_order_id(wf(), "BRK_B", "sell", 0)
    assert client_order_id(wf(), "BRK.B", "sell", 0).endswith("-BRK.B-sell-0")


@given(cid=IDENTIFIER, account=ACCOUNT, symbol=SYMBOL, side=st.sampled_from(["buy", "sell"]), leg=st.integers(0, 999))
def test_every_workflow_and_symbol_gives_a_valid_id_that_splits_back(cid, account, symbol, side, leg):
    coid = client_order_id(wf(cid, account), symbol, side, leg)
    assert SAFE.fullmatch(coid) and len(coid) <= 128
    parts = coid.split("-")
    assert len(parts) == 7 and parts[-2:] == [side, str(leg)]


def test_repeated_symbol_and_side_in_a_plan_get_successive_legs():
    ids = plan_order_ids(wf(), [("SPY", "sell"), ("SPY", "buy"), ("SPY", "sell"), ("QQQ", "buy")])
    assert [i.split("-", 4)[-1] for i in ids] == ["SPY-sell-0", "SPY-buy-0", "SPY-sell-1", "QQQ-buy-0"]


@pytest.mark.parametrize("key,symbol,side,leg", [
    (wf(account=""), "SPY", "buy", 0), (wf(correlation_id=""), "SPY", "buy", 0), (wf(), "SPY", "hold", 0),
    (wf(), "SPY", "buy", -1), (wf(), "", "buy", 0), (wf(mode="Paper-1"), "SPY", "buy", 0)])
def test_bad_parts_are_refused(key, symbol, side, leg):
    with pytest.raises(ClientOrderIdError):
        client_order_id(key, symbol, side, leg)


def test_validate_refuses_over_128_characters_and_odd_characters():
    with pytest.raises(ClientOrderIdError, match="129 characters"):
        validate("a" * 129)
    with pytest.raises(ClientOrderIdError, match="outside"):
        validate("a b")
