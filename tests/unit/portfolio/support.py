"""Builders and fakes for the portfolio tests: signals, planner inputs, a broker reader, metrics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.portfolio.planner import (
    AccountView,
    Holding,
    Parameters,
    PlanInputs,
    StrategyPart,
    Tradability,
)
from shared.broker.port import Account, Asset, Clock, Position
from shared.events.signal_generated import SignalGenerated, StrategySignal

D = Decimal
SIGNAL_AT = datetime(2026, 11, 25, 14, 35, 2, tzinfo=UTC)
CAPTURED_AT = SIGNAL_AT + timedelta(seconds=1)
NO_SKIP = Parameters(cash_reserve=D(0), min_trade_value=D(0), drift_band=D(0))
DEFAULTS = Parameters(cash_reserve=D("0.01"), min_trade_value=D(10), drift_band=D("0.01"))

StrategySpec = tuple[str, str, Mapping[str, str], str | None]
"""(name, allocation, weights, rebalance threshold) with decimals as text."""


def netted(strategies: Sequence[StrategySpec]) -> dict[str, Decimal]:
    targets: dict[str, Decimal] = {}
    for _, allocation, weights, _ in strategies:
        for symbol, weight in weights.items():
            targets[symbol] = targets.get(symbol, D(0)) + D(allocation) * D(weight)
    return targets


def parts(strategies: Sequence[StrategySpec]) -> tuple[StrategyPart, ...]:
    return tuple(StrategyPart(name, D(alloc), {s: D(w) for s, w in weights.items()},
                              None if threshold is None else D(threshold))
                 for name, alloc, weights, threshold in strategies)


def holding(symbol: str, qty: str, price: str, market_value: str | None = None) -> Holding:
    value = D(market_value) if market_value is not None else (D(qty) * D(price)).quantize(D("0.01"))
    return Holding(symbol, D(qty), value, D(price))


def inputs(
    *,
    targets: Mapping[str, str] | None = None,
    strategies: Sequence[StrategySpec] | None = None,
    holdings: Iterable[Holding] = (),
    cash: str = "100000",
    buying_power: str | None = None,
    equity: str | None = None,
    prices: Mapping[str, str] | None = None,
    non_fractionable: Iterable[str] = (),
    untradable: Iterable[str] = (),
    parameters: Parameters = NO_SKIP,
    correlation_id: str = "run-1",
    signal_event_id: str = "signal-1",
    captured_at: datetime = CAPTURED_AT,
) -> PlanInputs:
    """Planner inputs; without `strategies` one strategy 'main' wants the targets."""
    if strategies is None:
        strategies = [("main", "1", dict(targets or {}), None)]
    target_weights = {s: D(w) for s, w in targets.items()} if targets is not None else netted(strategies)
    held = {h.symbol: h for h in holdings}
    total = D(equity) if equity is not None else D(cash) + sum((h.market_value for h in held.values()), D(0))
    symbols = set(target_weights) | set(held)
    non_fractionable, untradable = set(non_fractionable), set(untradable)
    return PlanInputs(
        correlation_id=correlation_id,
        signal_event_id=signal_event_id,
        target_weights=target_weights,
        strategies=parts(strategies),
        account=AccountView("ACTIVE", total, D(cash), D(buying_power if buying_power is not None else cash),
                            captured_at),
        holdings=held,
        assets={s: Tradability(s not in non_fractionable, s not in untradable) for s in symbols},
        prices={s: D(p) for s, p in (prices or {}).items() if s not in held},
        parameters=parameters,
    )


def signal(
    targets: Mapping[str, str] | None = None,
    *,
    strategies: Sequence[StrategySpec] | None = None,
    event_id: str = "2586a97a-1528-5b23-94a2-f4c92ce77d8b",
    correlation_id: str = "run-2026-11-25-paper",
    occurred_at: datetime = SIGNAL_AT,
    construct: bool = False,
) -> SignalGenerated:
    """A SignalGenerated; `construct=True` skips pydantic validation (to carry what the middleware
    would refuse, e.g. negative weights, into the app's own checks)."""
    if strategies is None:
        strategies = [("main", "1", dict(targets or {}), None)]
    target_weights = {s: D(w) for s, w in targets.items()} if targets is not None else netted(strategies)
    fields: dict[str, Any] = dict(
        event_id=event_id, correlation_id=correlation_id, causation_id="scheduler-2026-11-25",
        occurred_at=occurred_at, trading_mode="paper", hop_count=1, trading_date=date(2026, 11, 25),
        data_as_of=date(2026, 11, 24), target_weights=target_weights, symbols=tuple(sorted(target_weights)),
    )
    if construct:
        strategy_models = tuple(StrategySignal.model_construct(
            name=n, file=f"{n}.clj", allocation=D(a), weights={s: D(w) for s, w in ws.items()},
            rebalance_threshold=None if t is None else D(t), explanation=()) for n, a, ws, t in strategies)
        return SignalGenerated.model_construct(strategies=strategy_models, schema_version=1, **fields)
    strategy_models = tuple(StrategySignal(name=n, file=f"{n}.clj", allocation=D(a), weights={s: D(w) for s, w in
                                                                                              ws.items()},
                                           rebalance_threshold=None if t is None else D(t))
                            for n, a, ws, t in strategies)
    return SignalGenerated(strategies=strategy_models, **fields)


class FakeBroker:
    """A BrokerReader over plain values; `fail_with` makes every read raise; `calls` records reads."""

    def __init__(
        self,
        *,
        cash: str = "100000",
        buying_power: str | None = None,
        equity: str | None = None,
        positions: Iterable[Position] = (),
        assets: Mapping[str, Asset] | None = None,
        prices: Mapping[str, str] | None = None,
        status: str = "ACTIVE",
        account_blocked: bool = False,
        trading_blocked: bool = False,
        captured_at: datetime = CAPTURED_AT,
    ) -> None:
        self.positions = list(positions)
        self.prices = {s: D(p) for s, p in (prices or {"TQQQ": "60", "TLT": "92", "GLD": "190", "SPY": "500",
                                                       "BIL": "91.5"}).items()}
        self.assets = dict(assets) if assets is not None else {
            s: Asset(s, tradable=True, fractionable=True) for s in (*self.prices, *(p.symbol for p in self.positions))}
        held = sum((p.market_value for p in self.positions), D(0))
        self.account = Account("FAKE", status, D(equity) if equity is not None else D(cash) + held, D(cash),
                               D(buying_power if buying_power is not None else cash), trading_blocked,
                               account_blocked, captured_at)
        self.fail_with: Exception | None = None
        self.calls: list[str] = []

    def _read(self, what: str) -> None:
        self.calls.append(what)
        if self.fail_with is not None:
            raise self.fail_with

    def get_account(self) -> Account:
        self._read("account")
        return self.account

    def get_positions(self) -> list[Position]:
        self._read("positions")
        return list(self.positions)

    def get_assets(self, symbols: Sequence[str]) -> dict[str, Asset]:
        self._read("assets")
        return {s: self.assets[s] for s in symbols if s in self.assets}

    def get_latest_prices(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        self._read("prices")
        return {s: self.prices[s] for s in symbols if s in self.prices}

    def get_clock(self) -> Clock:
        self._read("clock")
        now = self.account.captured_at
        return Clock(now, True, now + timedelta(hours=20), now + timedelta(hours=2))


def position(symbol: str, qty: str, price: str) -> Position:
    return Position(symbol, D(qty), (D(qty) * D(price)).quantize(D("0.01")), D(price))


class RecordingMetrics:
    """Stands in for Powertools Metrics: records (name, value)."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, float]] = []

    def add_metric(self, *, name: str, unit: Any, value: float) -> None:
        self.recorded.append((name, value))

    def values(self, name: str) -> list[float]:
        return [v for n, v in self.recorded if n == name]
