"""The simulated account and fill model of the backtest (Decimal throughout).

The rounding is the simulated paper broker's (shared/venues/simulated/broker.py, simulated_ledger.py), so
a backtest and a sequence of `alchemiser run` days on that broker fill alike:
- the fill price is the day's price moved against the trader by `slippage_bps` (buys pay more,
  sells get less), to $0.0001 (buys rounded up, sells down);
- a notional buy gets floor(notional / fill price) shares to 9 places (whole shares when the asset
  is not fractionable);
- cash moves by quantity x fill price, to the cent against the trader (buys up, sells down);
- a buy that costs more than the buying power (cash) is rejected, as the broker would reject it;
- the fee per share (0 at the simulated broker and at Alpaca) is charged on top, to the cent, rounded up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import Literal

CENT = Decimal("0.01")
PRICE_STEP = Decimal("0.0001")
FRACTION_STEP = Decimal("0.000000001")
BPS = Decimal(10000)

Side = Literal["buy", "sell"]


@dataclass(frozen=True)
class FillModel:
    slippage_bps: Decimal = Decimal(0)
    fee_per_share: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not self.slippage_bps.is_finite() or self.slippage_bps < 0:
            raise ValueError(f"slippage must be a non-negative number of basis points, got {self.slippage_bps}")
        if not self.fee_per_share.is_finite() or self.fee_per_share < 0:
            raise ValueError(f"the fee per share must be a non-negative amount, got {self.fee_per_share}")

    def price(self, price: Decimal, side: Side) -> Decimal:
        slip = self.slippage_bps / BPS
        if side == "buy":
            return (price * (1 + slip)).quantize(PRICE_STEP, ROUND_UP)
        return (price * (1 - slip)).quantize(PRICE_STEP, ROUND_DOWN)

    def fee(self, qty: Decimal) -> Decimal:
        return (qty * self.fee_per_share).quantize(CENT, ROUND_UP) if self.fee_per_share else Decimal(0)


@dataclass(frozen=True)
class Fill:
    """One order as it filled (or was rejected: `qty` 0 and `rejected` set)."""

    trade_date: str
    symbol: str
    side: Side
    qty: Decimal
    """Shares filled."""
    requested_qty: Decimal | None
    requested_notional: Decimal | None
    reference_price: Decimal
    """The price the order was valued at (the day's price, before slippage)."""
    fill_price: Decimal
    amount: Decimal
    """Cash paid (buy) or received (sell), before the fee."""
    fee: Decimal
    slippage: Decimal
    """What slippage cost: |fill price - reference price| x qty."""
    rejected: str | None = None


@dataclass
class SimAccount:
    """Cash and share quantities; valued at whatever prices the caller passes."""

    cash: Decimal
    positions: dict[str, Decimal] = field(default_factory=dict)
    _marked: dict[str, tuple[Decimal, Decimal, Decimal]] = field(default_factory=dict, repr=False, compare=False)
    """symbol -> (qty, price, value) of its last valuation: a session values each position twice (to plan,
    then at the close) at the same price object, and most positions are not traded in between."""

    def values(self, prices: dict[str, Decimal]) -> dict[str, Decimal]:
        """`market_value` of every position at `prices`, in position order (one loop: hundreds a session)."""
        marked, out = self._marked, {}
        for symbol, qty in self.positions.items():
            price = prices[symbol]
            last = marked.get(symbol)
            if last is not None and last[0] is qty and last[1] is price:
                out[symbol] = last[2]
            else:
                value = out[symbol] = (qty * price).quantize(CENT, ROUND_HALF_EVEN)
                marked[symbol] = (qty, price, value)
        return out

    def equity(self, prices: dict[str, Decimal]) -> Decimal:
        return self.cash + sum(self.values(prices).values(), Decimal(0))

    @property
    def buying_power(self) -> Decimal:
        return self.cash.quantize(CENT, ROUND_DOWN)

    def sell(self, day: str, symbol: str, qty: Decimal, price: Decimal, model: FillModel) -> Fill:
        held = self.positions.get(symbol, Decimal(0))
        fill_price = model.price(price, "sell")
        if qty <= 0 or qty > held:
            return Fill(day, symbol, "sell", Decimal(0), qty, None, price, fill_price, Decimal(0), Decimal(0),
                        Decimal(0), rejected=f"insufficient qty available (requested {qty}, held {held})")
        amount = (qty * fill_price).quantize(CENT, ROUND_DOWN)
        fee = model.fee(qty)
        self.cash += amount - fee
        left = held - qty
        if left == 0:
            del self.positions[symbol]
        else:
            self.positions[symbol] = left
        return Fill(day, symbol, "sell", qty, qty, None, price, fill_price, amount, fee,
                    ((price - fill_price) * qty).quantize(CENT, ROUND_HALF_EVEN))

    def buy(self, day: str, symbol: str, qty: Decimal | None, notional: Decimal | None, price: Decimal,
            fractionable: bool, model: FillModel) -> Fill:
        fill_price = model.price(price, "buy")
        quantum = FRACTION_STEP if fractionable else Decimal(1)
        if qty is not None:
            total = qty
        else:
            assert notional is not None
            raw = notional / fill_price
            total = raw.quantize(quantum, ROUND_DOWN) if quantum < 1 else raw.to_integral_value(ROUND_DOWN)
        cost = notional if notional is not None else total * fill_price
        fee = model.fee(total)
        why = None
        if total <= 0:
            why = f"notional {notional} buys less than one unit of {symbol}"
        elif cost + fee > self.buying_power:
            why = f"insufficient buying power (cost {cost + fee:.2f}, buying power {self.buying_power})"
        if why is not None:
            return Fill(day, symbol, "buy", Decimal(0), qty, notional, price, fill_price, Decimal(0), Decimal(0),
                        Decimal(0), rejected=why)
        amount = (total * fill_price).quantize(CENT, ROUND_UP)
        self.cash -= amount + fee
        self.positions[symbol] = self.positions.get(symbol, Decimal(0)) + total
        return Fill(day, symbol, "buy", total, qty, notional, price, fill_price, amount, fee,
                    ((fill_price - price) * total).quantize(CENT, ROUND_HALF_EVEN))
