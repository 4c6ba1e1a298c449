"""Which of the account's positions the plan manages: one rule for the Lambda, `alchemiser plan` and the backtest.

The account is the user's; the system manages (`scope`):
- every share of a symbol its strategies target today (or the cash symbol the position cap may buy):
  shares bought by hand in it are managed too, and the plan says so (`adopted`);
- of any other symbol, the shares its own record says it holds (shared/broker/positions_record.py:
  what it bought and has not sold, capped at what the broker holds). A position it bought that the
  strategies drop is sold; shares the user added by hand stay.
Everything else is *not managed*: left alone, listed with the plan, and not counted in the equity the
strategies are sized on (sizing on money the user never gave the system would buy more than it should:
50 AAPL bought by hand would make a 100% TQQQ strategy buy TQQQ for them too). Cash is the system's.

`manage_whole_account = true` (a setting beside the limits) manages every position, as before the
record existed. The backtest's account holds only what it bought, so its record is its positions and
the rule leaves nothing out; it still goes through here, so the rule has one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from services.portfolio.planner import ZERO, Holding, PlanInputs
from shared.limits.model import Limits


@dataclass(frozen=True)
class NotManaged:
    """Shares the plan leaves alone."""

    symbol: str
    qty: Decimal
    market_value: Decimal
    reason: str


@dataclass(frozen=True)
class Adopted:
    """A targeted symbol the system's record held fewer shares of than the broker: all of it is managed."""

    symbol: str
    qty: Decimal
    """Shares beyond the system's record (bought by hand), managed because a strategy targets the symbol."""


@dataclass(frozen=True)
class Scope:
    managed: dict[str, Decimal]
    """Symbol -> shares the plan manages (what the record holds once the plan is made)."""
    not_managed: tuple[NotManaged, ...] = ()
    adopted: tuple[Adopted, ...] = ()

    @property
    def left_out(self) -> Decimal:
        """The market value of what is not managed: taken out of the equity the plan is sized on."""
        return sum((n.market_value for n in self.not_managed), ZERO)


def targeted(inputs: PlanInputs, limits: Limits) -> set[str]:
    """The symbols the plan may hold today: the targets, and the cash symbol when the position cap clips to it."""
    cash = limits.cash_symbol if limits.position_cap == "clip" else None
    return {s for s, w in inputs.target_weights.items() if w > 0} | ({cash} if cash else set())


def scope(inputs: PlanInputs, limits: Limits, owned: Mapping[str, Decimal]) -> tuple[PlanInputs, Scope]:
    """The inputs with only the managed holdings, and equity less what is not managed; and what was decided."""
    if limits.manage_whole_account:
        return inputs, Scope({s: h.qty for s, h in inputs.holdings.items()})
    wanted = targeted(inputs, limits)
    holdings: dict[str, Holding] = {}
    managed: dict[str, Decimal] = {}
    left: list[NotManaged] = []
    adopted: list[Adopted] = []
    for symbol, held in sorted(inputs.holdings.items()):
        mine = min(max(owned.get(symbol, ZERO), ZERO), held.qty)
        if symbol in wanted:
            if held.qty > mine:
                adopted.append(Adopted(symbol, held.qty - mine))
            mine = held.qty
        if mine <= 0:
            left.append(NotManaged(symbol, held.qty, held.market_value, "not bought by the system"))
            continue
        managed[symbol] = mine
        if mine == held.qty:
            holdings[symbol] = held
            continue
        value = held.market_value * mine / held.qty
        holdings[symbol] = held._replace(qty=mine, market_value=value)
        left.append(NotManaged(symbol, held.qty - mine, held.market_value - value, "bought by hand beyond the "
                               f"system's {mine} shares"))
    decided = Scope(managed, tuple(left), tuple(adopted))
    if not left:
        return replace(inputs, holdings=holdings), decided
    account = replace(inputs.account, equity=inputs.account.equity - decided.left_out)
    return replace(inputs, holdings=holdings, account=account), decided


def rows(decided: Scope) -> dict[str, list[dict[str, Decimal | str]]]:
    """The plan's JSON view of its scope: what it left alone, and the hand-bought shares it manages."""
    return {"not_managed": [{"symbol": n.symbol, "qty": n.qty, "market_value": n.market_value, "reason": n.reason}
                            for n in decided.not_managed],
            "managed_by_hand": [{"symbol": a.symbol, "qty": a.qty} for a in decided.adopted]}


def describe(decided: Scope) -> list[str]:
    """One line per position the plan left alone or adopted, as the plan, status and P&L print them."""
    lines = [f"{n.symbol}: {n.qty} shares (${n.market_value:,.2f}) not managed: {n.reason}"
             for n in decided.not_managed]
    lines += [f"{a.symbol}: {a.qty} shares bought by hand are managed: a strategy targets {a.symbol}"
              for a in decided.adopted]
    return lines
