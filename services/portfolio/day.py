"""The portfolio's step of the day, public: what the Lambda, `alchemiser plan` and the backtest call.

- `gather(signal, broker, parameters, limits)`: the broker's answers as planner inputs (account,
  positions, assets, prices), each checked; a Rejection says why nothing can be planned. The only
  I/O here, through the BrokerReader port.
- `plan_day(inputs, limits)`: pure. The user's position cap in `clip` mode first (`clip`), then the
  planner (planner.py) and the plan's own safety check (validation.py `check_plan`): a `Planned`
  (the plan and the limits that shaped it) or a Rejection.

The backtest builds its `PlanInputs` from its simulated account (its fast path) and calls
`plan_day`; the Lambda and `alchemiser plan` build them with `gather`. The holdings in the inputs
are the positions the plan manages: a filter of positions (which holdings are ours to trade) slots
into `inputs_of` and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from services.portfolio.planner import (
    ZERO,
    AccountView,
    Holding,
    Parameters,
    Plan,
    PlanInputs,
    StrategyPart,
    Tradability,
    plan,
)
from services.portfolio.validation import (
    Rejection,
    check_account,
    check_assets,
    check_plan,
    check_positions,
    check_prices,
)
from shared.broker.port import Account, Asset, BrokerReader, Position
from shared.events.signal_generated import SignalGenerated
from shared.limits.model import LimitBinding, Limits, how_to_change, percent


@dataclass(frozen=True)
class Gathered:
    inputs: PlanInputs
    account: Account
    positions: tuple[Position, ...]


@dataclass(frozen=True)
class Planned:
    inputs: PlanInputs
    """What was planned from: the targets after the position cap."""
    plan: Plan
    bindings: tuple[LimitBinding, ...]
    """The limits that shaped the plan (a position clipped to the cap)."""


def cash_symbol_of(limits: Limits) -> str | None:
    """The symbol clipped weight goes to, when the plan may buy it (clip mode with a cash symbol)."""
    return limits.cash_symbol if limits.position_cap == "clip" else None


def gather(signal: SignalGenerated, broker: BrokerReader, parameters: Parameters,
           limits: Limits) -> Gathered | Rejection:
    """Read the broker (account, positions, assets, prices), checking each answer."""
    account = broker.get_account()
    rejection = check_account(account, signal.occurred_at)
    if rejection is not None:
        return rejection
    positions = tuple(p for p in broker.get_positions() if p.qty != 0)
    rejection = check_positions(positions)
    if rejection is not None:
        return rejection
    held = {p.symbol: p for p in positions}
    targets = signal.target_weights
    cash = cash_symbol_of(limits)
    extra = {cash} if cash else set()
    assets = broker.get_assets(sorted(targets.keys() | held.keys() | extra))
    rejection = check_assets(targets, held.keys() | extra, assets)
    if rejection is not None:
        return rejection
    needed = sorted(s for s in targets.keys() | extra if (targets.get(s, ZERO) > 0 or s in extra) and s not in held)
    prices = broker.get_latest_prices(needed) if needed else {}
    rejection = check_prices(needed, prices)
    if rejection is not None:
        return rejection
    inputs = inputs_of(signal, account, held, assets, {s: prices[s] for s in needed}, parameters, limits)
    return Gathered(inputs, account, positions)


def inputs_of(signal: SignalGenerated, account: Account, held: Mapping[str, Position], assets: Mapping[str, Asset],
              prices: Mapping[str, Decimal], parameters: Parameters, limits: Limits) -> PlanInputs:
    return PlanInputs(
        correlation_id=signal.correlation_id,
        signal_event_id=signal.event_id,
        target_weights=dict(signal.target_weights),
        strategies=tuple(StrategyPart(s.name, s.allocation, dict(s.weights), s.rebalance_threshold)
                         for s in signal.strategies),
        account=AccountView(account.status, account.equity, account.cash, account.buying_power, account.captured_at),
        holdings={s: Holding(s, p.qty, p.market_value, p.current_price) for s, p in held.items()},
        assets={s: Tradability(a.fractionable, a.tradable and a.status.lower() == "active") for s, a in assets.items()},
        prices=dict(prices),
        parameters=parameters,
        limits=limits,
    )


def plan_day(inputs: PlanInputs, limits: Limits, *, identify: bool = True) -> Planned | Rejection:
    """The position cap (clip mode), the plan, its safety check. `identify=False`: no plan id (the backtest)."""
    clipped, bindings = clip(inputs if inputs.limits is limits else replace(inputs, limits=limits), limits)
    made = plan(clipped, identify=identify)
    rejection = check_plan(made, clipped)
    if rejection is not None:
        return rejection
    return Planned(clipped, made, bindings)


def over_cap(targets: Mapping[str, Decimal], limits: Limits) -> dict[str, Decimal]:
    """The targets above max_position_weight, by symbol."""
    cap = limits.max_position_weight
    return dict(sorted((s, w) for s, w in targets.items() if w > cap))


def clip(inputs: PlanInputs, limits: Limits) -> tuple[PlanInputs, tuple[LimitBinding, ...]]:
    """The inputs with their targets clipped (`clip_targets`); other modes: as they are."""
    targets, strategies, bindings = clip_targets(inputs.target_weights, inputs.strategies, limits)
    if not bindings:
        return inputs, ()
    return replace(inputs, target_weights=targets, strategies=strategies), bindings


def clip_targets(targets: Mapping[str, Decimal], strategies: Sequence[StrategyPart], limits: Limits
                 ) -> tuple[dict[str, Decimal], tuple[StrategyPart, ...], tuple[LimitBinding, ...]]:
    """In `clip` mode, every target above max_position_weight scaled to it; what it frees goes to the cash
    symbol (up to the cap as well) or stays in cash. Each strategy's weights are scaled alike, so the
    orders' attribution still says which strategy wanted what."""
    cap = limits.max_position_weight
    over = over_cap(targets, limits)
    if limits.position_cap != "clip" or not over:
        return dict(targets), tuple(strategies), ()
    clipped = dict(targets)
    freed = ZERO
    for symbol, weight in over.items():
        clipped[symbol] = cap
        freed += weight - cap
    cash = limits.cash_symbol
    moved = min(freed, max(ZERO, cap - clipped.get(cash, ZERO))) if cash else ZERO
    if cash and moved > 0:
        clipped[cash] = clipped.get(cash, ZERO) + moved
    share = moved / freed if freed > 0 else ZERO
    parts = tuple(_scaled(part, over, cap, cash, share) for part in strategies)
    where = f"{percent(moved)} to {cash}" if moved > 0 else "the rest stays in cash"
    if cash and moved < freed:
        where += f" ({percent(freed - moved)} stays in cash: {cash} is at the cap too)" if moved > 0 else \
            f" ({cash} is at the cap already)"
    bindings = tuple(LimitBinding(
        limit="max_position_weight", action="clipped",
        message=(f"max_position_weight ({limits.text('max_position_weight')}): {symbol} clipped from "
                 f"{percent(weight)} to {percent(cap)}; {where}"),
        values={"symbol": symbol, "target": str(weight), "clipped_to": str(cap), "limit": str(cap),
                **({"cash_symbol": cash, "to_cash_symbol": str(moved)} if cash else {})},
        change=how_to_change("max_position_weight", limits)) for symbol, weight in over.items())
    return clipped, parts, bindings


def _scaled(part: StrategyPart, over: Mapping[str, Decimal], cap: Decimal, cash: str | None,
            share: Decimal) -> StrategyPart:
    weights = dict(part.weights)
    to_cash = ZERO
    for symbol, total in over.items():
        mine = weights.get(symbol, ZERO)
        if mine > 0:
            weights[symbol] = mine * cap / total
            to_cash += (mine - weights[symbol]) * share
    if cash and to_cash > 0:
        weights[cash] = weights.get(cash, ZERO) + to_cash
    return replace(part, weights=weights)


def priced_symbols(targets: Mapping[str, Decimal], held: Sequence[str], limits: Limits) -> set[str]:
    """Every symbol a plan may need a price for: the targets, the holdings, the cash symbol in clip mode."""
    cash = cash_symbol_of(limits)
    return set(targets) | set(held) | ({cash} if cash else set())
