"""Planning: target weights and an account snapshot in, the orders that rebalance the account out.

Pure Python over Decimal: no I/O, no clock, no environment. The rules, in the order they apply:

1. Deployable capital = equity x (1 - cash reserve); a symbol's target dollars = weight x
   deployable; its trade = target dollars - current market value.
2. A held symbol whose target is zero is sold in full, by the position's exact quantity
   (`full_exit`). Exits are never skipped as "small": a target of zero means out.
3. Other trades are skipped, with the reason, when smaller than the minimum trade value, or
   (for a position already held) when its drift |trade| / equity is inside the band. The band is
   the `drift_band` setting, or, for a symbol some strategy with a `:rebalance-threshold` wants,
   that threshold x the strategy's allocation (Composer's corridor is in the symphony's own
   weight points); a symbol several strategies want uses the smallest of their bands. New
   positions are not held to the band (a branch switch always trades, as in Composer).
4. Partial sells are quantities: the dollar amount / the position's price, rounded down (9
   places, or whole shares when not fractionable) and never above the quantity held.
5. Buys may spend cash (or the buying power, if lower) plus the sells' expected proceeds, the
   proceeds counted rounded down to the cent. If the wanted buys exceed that, every buy is
   scaled by one factor (rounded down) and the plan says so.
6. Fractionable buys are notional, rounded down to the cent, at least the broker's minimum
   notional; other buys are whole shares at the reference price, rounded down. A buy that
   rounds to nothing (or, once scaled, falls under the minimum trade value) is skipped.
7. Orders: sells first, then buys, each by symbol. Attribution splits an order's signed value
   among the strategies that want the symbol, in proportion to what each wants of it (their
   allocation x weight), to the cent, the residue on the largest; a symbol no strategy wants
   (an exit) is attributed to "unattributed". Current holdings are not tagged per strategy at
   the broker, so a leaving strategy is never charged for the others' share: the order itself
   is target - current, so a symbol another strategy still wants is sold down to that
   strategy's target, never below.
8. `plan_id` = "plan-" + the first 24 hex digits of the SHA-256 of a canonical JSON of every
   input (correlation id, signal event id, targets, strategies, account, positions, assets,
   prices, parameters, limits): the same inputs give the same plan and id, any change a new id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, localcontext
from functools import cached_property
from typing import Any, Literal, NamedTuple

from shared.limits.model import DEFAULTS as DEFAULT_LIMITS
from shared.limits.model import Limits

Side = Literal["buy", "sell"]

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
QTY_STEP = Decimal("0.000000001")
FACTOR_STEP = Decimal("0.000001")
WEIGHT_STEP = Decimal("0.000001")
UNATTRIBUTED = "unattributed"
PLAN_ID_HEX_DIGITS = 24
DECIMAL_PRECISION = 60


# ---------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class StrategyPart:
    """One strategy's own answer: its allocation, its weights, its rebalance threshold."""

    name: str
    allocation: Decimal
    weights: Mapping[str, Decimal]
    rebalance_threshold: Decimal | None = None


class Holding(NamedTuple):
    """A held position (a named tuple: a backtest builds hundreds a session)."""

    symbol: str
    qty: Decimal
    market_value: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Tradability:
    fractionable: bool
    tradable: bool = True


UNKNOWN_ASSET = Tradability(fractionable=False, tradable=False)


@dataclass(frozen=True, slots=True)
class AccountView:
    status: str
    equity: Decimal
    cash: Decimal
    buying_power: Decimal
    captured_at: datetime


@dataclass(frozen=True, slots=True)
class Parameters:
    cash_reserve: Decimal
    min_trade_value: Decimal
    drift_band: Decimal
    min_notional: Decimal = ONE


@dataclass(frozen=True)
class PlanInputs:
    correlation_id: str
    signal_event_id: str
    target_weights: Mapping[str, Decimal]
    strategies: Sequence[StrategyPart]
    account: AccountView
    holdings: Mapping[str, Holding]
    """Held positions by symbol (quantity > 0)."""
    assets: Mapping[str, Tradability]
    prices: Mapping[str, Decimal]
    """Reference prices for symbols not held (a held symbol's is its position's price)."""
    parameters: Parameters
    limits: Limits = DEFAULT_LIMITS
    """The workflow's limits: part of the plan's identity (day.py applies the position cap before planning)."""


# ---------------------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order; exactly one of `qty` / `notional` is set (sells always by quantity)."""

    symbol: str
    side: Side
    qty: Decimal | None
    notional: Decimal | None
    reference_price: Decimal
    estimated_value: Decimal
    attribution: dict[str, Decimal]
    reason: str
    full_exit: bool
    fractionable: bool


@dataclass(frozen=True, slots=True)
class Skip:
    symbol: str
    side: Side
    estimated_value: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Scaling:
    factor: Decimal
    reason: str


@dataclass(frozen=True, eq=False)
class Plan:
    """The orders, and (built when first read: the backtest reads only the orders) what was skipped, the
    current weights and the summary."""

    plan_id: str
    orders: tuple[OrderLine, ...]
    scaling: Scaling | None
    deployable: Decimal
    buy_budget: Decimal
    """What buys may spend: min(cash, buying power), at least 0, + the sells' expected proceeds."""
    _later: _Later = field(repr=False)

    @cached_property
    def skipped(self) -> tuple[Skip, ...]:
        return self._later.skipped()

    @cached_property
    def current_weights(self) -> dict[str, Decimal]:
        with _precise():
            return current_weights(self._later.inputs.holdings, self._later.inputs.account.equity)

    @cached_property
    def summary(self) -> str:
        with _precise():
            return summarize(self.orders, self.skipped, self.scaling)

    @property
    def sells(self) -> tuple[OrderLine, ...]:
        return tuple(o for o in self.orders if o.side == "sell")

    @property
    def buys(self) -> tuple[OrderLine, ...]:
        return tuple(o for o in self.orders if o.side == "buy")

    def _values(self) -> tuple[Any, ...]:
        return (self.plan_id, self.orders, self.skipped, self.scaling, self.current_weights, self.deployable,
                self.buy_budget, self.summary)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plan) and self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class _Later:
    """What the skipped list is built from when it is first read: the skips already made, and the
    symbols whose decision was a skip (`_decide(lazy=True)` answered LATER), decided again in full."""

    inputs: PlanInputs
    deployable: Decimal
    bands: Mapping[str, Decimal]
    made: tuple[Skip, ...]
    deferred: tuple[str, ...]

    def skipped(self) -> tuple[Skip, ...]:
        with _precise():
            inputs, default = self.inputs, self.inputs.parameters.drift_band
            shares = _Shares(inputs.strategies)
            later = [_decide(s, inputs.target_weights.get(s, ZERO), inputs.holdings.get(s),
                             inputs.assets.get(s, UNKNOWN_ASSET), inputs, self.deployable, self.bands.get(s, default),
                             shares) for s in self.deferred]
        assert all(isinstance(skip, Skip) for skip in later)
        return tuple(sorted((*self.made, *later), key=lambda skip: skip.symbol))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class _Want:
    """A buy before the budget and rounding are applied."""

    symbol: str
    amount: Decimal
    price: Decimal
    fractionable: bool
    reason: str


# ---------------------------------------------------------------------------------------- planning


def plan(inputs: PlanInputs, *, identify: bool = True) -> Plan:
    """The rebalance plan for `inputs` (validated beforehand: see validation.py). `identify=False`
    (the backtest, which publishes no plan) leaves `plan_id` empty instead of hashing the inputs."""
    with _precise():
        return _plan(inputs, identify)


def _precise() -> AbstractContextManager[Context]:
    """The planner's arithmetic: products and quotients exact far below a cent or a 1e-9 share."""
    return localcontext(prec=DECIMAL_PRECISION)


def _plan(inputs: PlanInputs, identify: bool = True) -> Plan:
    params, account = inputs.parameters, inputs.account
    if not account.equity > 0:
        raise ValueError(f"cannot plan an account with equity {account.equity}")
    deployable = account.equity * (ONE - params.cash_reserve)
    shares = _Shares(inputs.strategies)
    # every band is the drift band unless some strategy has a threshold of its own
    bands = symbol_bands(inputs.strategies, params.drift_band) if any(
        st.rebalance_threshold is not None for st in inputs.strategies) else {}
    default = params.drift_band
    sells: list[OrderLine] = []
    wants: list[_Want] = []
    skipped: list[Skip] = []
    deferred: list[str] = []
    targets, holdings, assets = inputs.target_weights, inputs.holdings, inputs.assets
    for symbol in sorted(targets.keys() | holdings.keys()):
        decision = _decide(symbol, targets.get(symbol, ZERO), holdings.get(symbol), assets.get(symbol, UNKNOWN_ASSET),
                           inputs, deployable, bands.get(symbol, default), shares, lazy=True)
        if decision is LATER:
            deferred.append(symbol)
        elif isinstance(decision, OrderLine):
            sells.append(decision)
        elif isinstance(decision, _Want):
            wants.append(decision)
        elif isinstance(decision, Skip):
            skipped.append(decision)
    proceeds = sum((o.estimated_value for o in sells), ZERO)
    budget = max(ZERO, min(account.cash, account.buying_power)) + proceeds
    buys, buy_skips, scaling = _buy_orders(wants, budget, params, shares, account, proceeds)
    return Plan(
        plan_id=plan_id(inputs) if identify else "",
        orders=(*sells, *buys),
        scaling=scaling,
        deployable=deployable,
        buy_budget=budget,
        _later=_Later(inputs, deployable, bands, (*skipped, *buy_skips), tuple(deferred)),
    )


LATER = object()
"""`_decide(lazy=True)`'s answer for a symbol left alone (a trade under the minimum or inside the band):
its Skip, with its reason, is made only if the plan's skipped list is read."""


def _decide(symbol: str, weight: Decimal, held: Holding | None, asset: Tradability, inputs: PlanInputs,
            deployable: Decimal, band: Decimal, shares: Mapping[str, Mapping[str, Decimal]], *,
            lazy: bool = False) -> object:
    """What to do about one symbol (its target weight, its position, its asset): a sell (OrderLine), a
    wanted buy (_Want), a Skip, or nothing (None). With `lazy`, LATER instead of the Skip of a trade too
    small or inside the band."""
    if held is not None:
        if not weight:
            if not asset.tradable:
                return Skip(symbol, "sell", _cents(held.market_value),
                            "exit wanted, but the asset is not tradable at the broker")
            return _exit(held, asset, shares[symbol])
        current = held.market_value
        delta = weight * deployable - current
    else:
        current = ZERO
        delta = weight * deployable - current  # (- 0 keeps the exponent the sum always had)
    if not delta:
        return None
    params, equity = inputs.parameters, inputs.account.equity
    size = abs(delta)
    side: Side = "buy" if delta > 0 else "sell"
    if not asset.tradable:
        return Skip(symbol, side, _cents(size), "the asset is not tradable at the broker")
    if size < params.min_trade_value:
        return LATER if lazy else Skip(symbol, side, _cents(size),
                                       f"below the minimum trade value of ${params.min_trade_value}")
    if held is not None and size < band * equity:  # drift = size / equity inside the band
        return LATER if lazy else Skip(symbol, side, _cents(size),
                                       f"drift {_pct(size / equity)} is inside the {_pct(band)} band")
    reason = _reason(side, weight, current, equity, new=held is None)
    if side == "buy":
        price = held.price if held is not None else inputs.prices[symbol]
        return _Want(symbol, delta, price, asset.fractionable, reason)
    assert held is not None  # a sell needs a position: delta < 0 only when current > 0
    return _partial_sell(held, asset, size, reason, shares[symbol])


def _exit(held: Holding, asset: Tradability, shares: Mapping[str, Decimal]) -> OrderLine:
    value = (held.qty * held.price).quantize(CENT, ROUND_DOWN)
    return OrderLine(
        symbol=held.symbol, side="sell", qty=held.qty, notional=None, reference_price=held.price,
        estimated_value=value, attribution=attribute(-value, shares),
        reason=f"exit: target 0%, selling the whole position ({held.qty} shares)",
        full_exit=True, fractionable=asset.fractionable,
    )


def _partial_sell(held: Holding, asset: Tradability, size: Decimal, reason: str,
                  shares: Mapping[str, Decimal]) -> OrderLine | Skip:
    qty = min(round_qty(size / held.price, asset.fractionable), held.qty)
    if qty <= 0:
        why = "less than one whole share (not fractionable)" if not asset.fractionable else "rounds to zero shares"
        return Skip(held.symbol, "sell", _cents(size), why)
    value = (qty * held.price).quantize(CENT, ROUND_DOWN)
    return OrderLine(
        symbol=held.symbol, side="sell", qty=qty, notional=None, reference_price=held.price,
        estimated_value=value, attribution=attribute(-value, shares), reason=reason,
        full_exit=qty == held.qty, fractionable=asset.fractionable,
    )


def _buy_orders(wants: Sequence[_Want], budget: Decimal, params: Parameters,
                shares: Mapping[str, Mapping[str, Decimal]], account: AccountView,
                proceeds: Decimal) -> tuple[list[OrderLine], list[Skip], Scaling | None]:
    wanted = sum((w.amount for w in wants), ZERO)
    scaling = None
    factor = ONE
    if wanted > budget:
        factor = (budget / wanted).quantize(FACTOR_STEP, ROUND_DOWN)
        scaling = Scaling(factor, (
            f"buys of ${wanted:,.2f} exceed what the plan may spend, ${budget:,.2f} (cash ${account.cash:,.2f}, "
            f"buying power ${account.buying_power:,.2f}, expected sell proceeds ${proceeds:,.2f}); "
            f"every buy scaled by {factor}"))
    orders: list[OrderLine] = []
    skipped: list[Skip] = []
    for want in wants:
        amount = want.amount * factor if scaling is not None else want.amount
        reason = want.reason if scaling is None else f"{want.reason}; scaled by {factor}"
        outcome = _buy(want, amount, reason, params, shares[want.symbol], scaled=scaling is not None)
        if isinstance(outcome, OrderLine):
            orders.append(outcome)
        else:
            skipped.append(outcome)
    return orders, skipped, scaling


def _buy(want: _Want, amount: Decimal, reason: str, params: Parameters,
         shares: Mapping[str, Decimal], *, scaled: bool) -> OrderLine | Skip:
    if scaled and amount < params.min_trade_value:
        return Skip(want.symbol, "buy", _cents(want.amount),
                    f"scaled to ${amount:,.2f}, below the minimum trade value of ${params.min_trade_value}")
    if want.fractionable:
        notional = amount.quantize(CENT, ROUND_DOWN)
        if notional < params.min_notional or notional <= 0:
            return Skip(want.symbol, "buy", _cents(want.amount),
                        f"${notional} is below the broker's ${params.min_notional} minimum for a notional order")
        return OrderLine(
            symbol=want.symbol, side="buy", qty=None, notional=notional, reference_price=want.price,
            estimated_value=notional, attribution=attribute(notional, shares), reason=reason,
            full_exit=False, fractionable=True,
        )
    qty = round_qty(amount / want.price, fractionable=False)
    if qty <= 0:
        return Skip(want.symbol, "buy", _cents(want.amount),
                    f"${amount:,.2f} buys less than one whole share at ${want.price} (not fractionable)")
    value = qty * want.price
    return OrderLine(
        symbol=want.symbol, side="buy", qty=qty, notional=None, reference_price=want.price,
        estimated_value=value, attribution=attribute(value, shares), reason=reason,
        full_exit=False, fractionable=False,
    )


# ---------------------------------------------------------------------------------------- helpers


def round_qty(qty: Decimal, fractionable: bool) -> Decimal:
    """Rounded down: to 9 places, or to whole shares when the asset is not fractionable."""
    if fractionable:
        return qty.quantize(QTY_STEP, ROUND_DOWN)
    return qty.to_integral_value(ROUND_DOWN)


def strategy_shares(strategies: Sequence[StrategyPart]) -> dict[str, dict[str, Decimal]]:
    """Symbol -> strategy -> its share of the account target (allocation x weight), if positive."""
    symbols = dict.fromkeys(symbol for strategy in strategies for symbol in strategy.weights)
    found = {symbol: shares_of(strategies, symbol) for symbol in symbols}
    return {symbol: by_strategy for symbol, by_strategy in found.items() if by_strategy}


def shares_of(strategies: Sequence[StrategyPart], symbol: str) -> dict[str, Decimal]:
    """Strategy -> its share of `symbol`'s account target (allocation x weight), where positive."""
    by_strategy: dict[str, Decimal] = {}
    for strategy in strategies:
        weight = strategy.weights.get(symbol)
        if weight is not None:
            share = strategy.allocation * weight
            if share > 0:
                by_strategy[strategy.name] = by_strategy.get(strategy.name, ZERO) + share
    return by_strategy


class _Shares(dict[str, dict[str, Decimal]]):
    """`strategy_shares`, each symbol's computed when first asked for (a plan asks for its orders' only)."""

    def __init__(self, strategies: Sequence[StrategyPart]) -> None:
        super().__init__()
        self._strategies = strategies

    def __missing__(self, symbol: str) -> dict[str, Decimal]:
        found = self[symbol] = shares_of(self._strategies, symbol)
        return found


def symbol_bands(strategies: Sequence[StrategyPart], default: Decimal) -> dict[str, Decimal]:
    """Symbol -> drift band: the smallest band among the strategies that want it."""
    bands: dict[str, Decimal] = {}
    for strategy in strategies:
        threshold = strategy.rebalance_threshold
        band = default if threshold is None else threshold * strategy.allocation
        for symbol, weight in strategy.weights.items():
            if weight > 0 and strategy.allocation > 0:
                bands[symbol] = min(bands.get(symbol, band), band)
    return bands


def attribute(value: Decimal, shares: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split a signed order value among strategies by their shares, to the cent; the parts sum
    exactly to `value` (the residue goes to the largest share, ties by name)."""
    if not shares:
        return {UNATTRIBUTED: value}
    if len(shares) == 1:  # the whole value (what the residue below makes of a lone share's rounding)
        return {name: value for name in shares}
    total = sum(shares.values(), ZERO)
    names = sorted(shares)
    parts = {name: (value * shares[name] / total).quantize(CENT, ROUND_HALF_EVEN) for name in names}
    largest = min(names, key=lambda name: (-shares[name], name))
    parts[largest] += value - sum(parts.values(), ZERO)
    return parts


def current_weights(holdings: Mapping[str, Holding], equity: Decimal) -> dict[str, Decimal]:
    """Market value / equity per held symbol, to 6 places, kept within [0, 1]."""
    if equity <= 0:
        return {}
    return {
        symbol: min(ONE, max(ZERO, (held.market_value / equity).quantize(WEIGHT_STEP, ROUND_HALF_EVEN)))
        for symbol, held in sorted(holdings.items())
    }


def summarize(orders: Sequence[OrderLine], skipped: Sequence[Skip], scaling: Scaling | None) -> str:
    buys = [o for o in orders if o.side == "buy"]
    sells = [o for o in orders if o.side == "sell"]
    skips = f"{len(skipped)} skipped" if skipped else "nothing skipped"
    if not orders:
        return f"already balanced: no orders; {skips}"
    bought = sum((o.estimated_value for o in buys), ZERO)
    sold = sum((o.estimated_value for o in sells), ZERO)
    text = (f"{len(buys)} buy{'s' if len(buys) != 1 else ''} (${bought:,.2f}); "
            f"{len(sells)} sell{'s' if len(sells) != 1 else ''} (${sold:,.2f}); {skips}")
    return text if scaling is None else f"{text}; buys scaled by {scaling.factor}"


def _reason(side: Side, weight: Decimal, current: Decimal, equity: Decimal, *, new: bool) -> str:
    if new:
        return f"new position: target {_pct(weight)}"
    verb = "increase" if side == "buy" else "reduce"
    return f"{verb}: {_pct(current / equity)} of equity -> target {_pct(weight)}"


def _pct(fraction: Decimal) -> str:
    return f"{fraction * 100:.2f}%"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_EVEN)


# ---------------------------------------------------------------------------------------- plan id


def _canon(value: Decimal) -> str:
    """Equal values, equal text (0.50 and 0.5 hash alike; 100 is 1E+2)."""
    return str(value.normalize()) if value else "0"


def canonical_inputs(inputs: PlanInputs) -> dict[str, Any]:
    account, params = inputs.account, inputs.parameters
    return {
        "correlation_id": inputs.correlation_id,
        "signal_event_id": inputs.signal_event_id,
        "targets": [[s, _canon(w)] for s, w in sorted(inputs.target_weights.items())],
        "strategies": [
            [st.name, _canon(st.allocation),
             None if st.rebalance_threshold is None else _canon(st.rebalance_threshold),
             [[s, _canon(w)] for s, w in sorted(st.weights.items())]]
            for st in sorted(inputs.strategies, key=lambda st: st.name)
        ],
        "account": [account.status, _canon(account.equity), _canon(account.cash), _canon(account.buying_power),
                    account.captured_at.astimezone(UTC).isoformat()],
        "positions": [[s, _canon(h.qty), _canon(h.market_value), _canon(h.price)]
                      for s, h in sorted(inputs.holdings.items())],
        "assets": [[s, a.fractionable, a.tradable] for s, a in sorted(inputs.assets.items())],
        "prices": [[s, _canon(p)] for s, p in sorted(inputs.prices.items())],
        "parameters": [_canon(params.cash_reserve), _canon(params.min_trade_value), _canon(params.drift_band),
                       _canon(params.min_notional)],
        "limits": inputs.limits.canonical(),
    }


def plan_id(inputs: PlanInputs) -> str:
    text = json.dumps(canonical_inputs(inputs), sort_keys=True, separators=(",", ":"))
    return "plan-" + hashlib.sha256(text.encode()).hexdigest()[:PLAN_ID_HEX_DIGITS]
