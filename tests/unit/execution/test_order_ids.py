"""The client order id recipe: deterministic, at most 128 safe characters, one per (plan, symbol, side, leg)."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.execution.order_ids import ClientOrderIdError, client_order_id, plan_order_ids, validate

SAFE = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
IDENTIFIER = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}\Z")
SYMBOL = st.from_regex(r"\A[A-Z][A-Z0-9.\-]{0,14}\Z")


def test_the_recipe_reads_plan_symbol_side_and_leg():
    assert client_order_id("plan-7f3a9c2e1b4d5a60", "TQQQ", "buy", 0) == "alch-plan-7f3a9c2e1b4d5a60-TQQQ-buy-0"


def test_the_same_inputs_always_give_the_same_id():
    assert client_order_id("p1", "SPY", "sell", 2) == client_order_id("p1", "SPY", "sell", 2)


def test_ids_differ_per_symbol_side_leg_and_plan():
    ids = {client_order_id(plan, symbol, side, leg)
           for plan, symbol, side, leg in itertools.product(("p1", "p2"), ("SPY", "QQQ", "BRK.B"), ("buy", "sell"),
                                                            (0, 1, 2))}
    assert len(ids) == 2 * 3 * 2 * 3


def test_a_plan_id_too_long_for_128_characters_is_replaced_by_its_digest():
    long_plan = "p" * 128
    coid = client_order_id(long_plan, "BRK.B", "sell", 0)
    assert len(coid) <= 128 and SAFE.fullmatch(coid)
    assert coid == client_order_id(long_plan, "BRK.B", "sell", 0)
    assert coid != client_order_id("p" * 127 + "q", "BRK.B", "sell", 0)


def test_a_plan_id_with_a_colon_is_hashed_rather_than_sent():
    coid = client_order_id("run:2026-11-25", "SPY", "buy", 0)
    assert ":" not in coid and SAFE.fullmatch(coid)
    assert coid != client_order_id("run_2026-11-25", "SPY", "buy", 0)


@given(plan=IDENTIFIER, symbol=SYMBOL, side=st.sampled_from(["buy", "sell"]), leg=st.integers(0, 999))
def test_every_identifier_and_symbol_gives_a_valid_id(plan, symbol, side, leg):
    coid = client_order_id(plan, symbol, side, leg)
    assert SAFE.fullmatch(coid)
    assert coid.endswith(f"-{symbol}-{side}-{leg}")


def test_repeated_symbol_and_side_in_a_plan_get_successive_legs():
    ids = plan_order_ids("p1", [("SPY", "sell"), ("SPY", "buy"), ("SPY", "sell"), ("QQQ", "buy")])
    assert ids == ["alch-p1-SPY-sell-0", "alch-p1-SPY-buy-0", "alch-p1-SPY-sell-1", "alch-p1-QQQ-buy-0"]


@pytest.mark.parametrize("args", [("", "SPY", "buy", 0), ("p", "SPY", "hold", 0), ("p", "SPY", "buy", -1),
                                  ("p", "S P Y", "buy", 0)])
def test_bad_parts_are_refused(args):
    with pytest.raises(ClientOrderIdError):
        client_order_id(*args)


def test_validate_refuses_over_128_characters_and_odd_characters():
    with pytest.raises(ClientOrderIdError, match="129 characters"):
        validate("a" * 129)
    with pytest.raises(ClientOrderIdError, match="outside"):
        validate("a b")
