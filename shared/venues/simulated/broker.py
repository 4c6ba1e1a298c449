"""SimulatedBroker: a paper broker that keeps its account in the state directory between runs.

The account (cash, positions, orders) is one document in the embedded SQLite store
(`state_dir/broker/simulated.sqlite3`); every change is an atomic read-modify-write under
SQLite's write lock, so handlers in several threads or processes never lose an update and a
client_order_id is accepted once only. `starting_cash` applies only when the account is created.

Fills: market orders fill at `price_of(symbol)` (the as-of day's price) moved against the
trader by `slippage_bps` (buys pay more, sells get less), prices to $0.0001, fractional
quantities to 9 places (rounded down), cash to the cent (rounded against the trader). Like
Alpaca: notional orders and fractional quantities only for fractionable assets, notional at
least $1, sells no more than the quantity held (net of open sells), buys no more than the buying
power (cash net of open buys). Fault injection (simulated_faults.py) makes chosen orders reject,
fill partially over polls, or stall. With `fill_when_closed=False` an order placed while the
market is closed (per the injected clock and calendar) waits, "accepted", for a poll in session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from shared.broker.port import (
    QTY_PLACES,
    TERMINAL_STATES,
    Account,
    Asset,
    BrokerError,
    Clock,
    DuplicateClientOrderId,
    Order,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    Position,
    amount_problem,
    places,
)
from shared.runtime.clock import trading_date
from shared.runtime.sqlite_store import SqliteTable
from shared.venues.simulated.faults import SimFaults
from shared.venues.simulated.ledger import (
    CENT,
    FRACTION_STEP,
    PRICE_STEP,
    Doc,
    advance,
    buying_power,
    check_funds,
    fill,
    floor_qty,
    notional_of,
    open_orders,
    remaining,
    text_or_none,
    to_order,
)

if TYPE_CHECKING:  # the port module imports numpy; the simulated broker needs only the types
    from shared.marketdata.port import MarketCalendar, Session

T = TypeVar("T")
MIN_NOTIONAL = Decimal("1")
MAX_PRICE = Decimal("10000000")
"""A price source answering more than this per share is broken: no price (the events' own bound)."""


class SimulatedBroker:
    def __init__(
        self,
        state_dir: Path,
        price_of: Callable[[str], Decimal],
        *,
        calendar: MarketCalendar,
        now: Callable[[], datetime],
        starting_cash: Decimal = Decimal("100000"),
        slippage_bps: Decimal = Decimal("0"),
        non_fractionable: Collection[str] = (),
        assets: Mapping[str, Asset] | None = None,
        faults: SimFaults | None = None,
        account_name: str = "paper",
        fill_when_closed: bool = True,
    ) -> None:
        """`assets`: the full asset table (symbols outside it are unknown); without it every symbol is
        known and tradable, and fractionable unless listed in `non_fractionable`."""
        if slippage_bps < 0:
            raise ValueError("slippage_bps must not be negative")
        self._table = SqliteTable(Path(state_dir) / "broker" / "simulated.sqlite3", "simulated_accounts")
        self._key = f"account:{account_name}"
        self._account_name = account_name
        self._price_of = price_of
        self._calendar = calendar
        self._now = now
        self._starting_cash = starting_cash
        self._slippage = slippage_bps / Decimal(10000)
        self._non_fractionable = frozenset(non_fractionable)
        self._assets = dict(assets) if assets is not None else None
        self._faults = faults or SimFaults()
        self._fill_when_closed = fill_when_closed

    # ---- reads ---------------------------------------------------------------------------------

    def get_account(self) -> Account:
        doc = self._load()
        cash = Decimal(doc["cash"])
        equity = cash + sum((p.market_value for p in self._positions(doc)), Decimal(0))
        return Account(
            account_id=doc["account_id"],
            status="ACTIVE",
            equity=equity,
            cash=cash,
            buying_power=buying_power(doc),
            trading_blocked=False,
            account_blocked=False,
            captured_at=self._now(),
        )

    def get_positions(self) -> list[Position]:
        return self._positions(self._load())

    def get_assets(self, symbols: Sequence[str]) -> dict[str, Asset]:
        if self._assets is not None:
            return {s: self._assets[s] for s in symbols if s in self._assets}
        return {s: Asset(s, tradable=True, fractionable=s not in self._non_fractionable) for s in symbols}

    def get_latest_prices(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        prices = {s: self._price_or_none(s) for s in dict.fromkeys(symbols)}
        return {s: p for s, p in prices.items() if p is not None}

    def get_clock(self) -> Clock:
        now = self._now()
        today = self._calendar.session(trading_date(now))
        upcoming = today if today is not None and now < today.open else self._next_session(now)
        is_open = today is not None and today.open <= now < today.close
        current = today if is_open else upcoming
        assert current is not None
        return Clock(timestamp=now, is_open=is_open, next_open=upcoming.open, next_close=current.close)

    def list_orders(self) -> list[Order]:
        orders = sorted(self._load()["orders"].values(), key=lambda o: (o["submitted_at"], o["id"]))
        return [to_order(o) for o in orders]

    def list_open_orders(self) -> list[Order]:
        """The orders not yet final (held for the open, for example), oldest first."""
        return [o for o in self.list_orders() if not o.is_terminal]

    # ---- orders --------------------------------------------------------------------------------

    def submit_order(self, request: OrderRequest) -> Order:
        asset = self._check_asset(request)
        price = self._price_or_none(request.symbol)
        if price is None:
            raise OrderRejected(f"no price for {request.symbol}; order not placed")
        fill_price = self._slipped(price, request.side)
        fault = self._faults.for_order(request.symbol, request.client_order_id)
        now = self._now()
        held = not self._fill_when_closed and not self._market_open(now)

        def create(doc: Doc) -> Order:
            if request.client_order_id in doc["by_client_id"]:
                raise DuplicateClientOrderId(f"client_order_id {request.client_order_id} must be unique")
            if fault is not None and fault.kind == "reject":
                raise OrderRejected(fault.message)
            quantum = FRACTION_STEP if asset.fractionable else Decimal(1)
            total = (
                request.qty
                if request.qty is not None
                else floor_qty(notional_of(request) / fill_price, quantum)
            )
            if total <= 0:
                raise OrderRejected(
                    f"notional {request.notional} buys less than one unit of {request.symbol}"
                )
            check_funds(doc, request, total, fill_price)
            order = {
                "id": str(uuid.uuid4()),
                "client_order_id": request.client_order_id,
                "symbol": request.symbol,
                "side": request.side,
                "qty": text_or_none(request.qty),
                "notional": text_or_none(request.notional),
                "total_qty": str(total),
                "filled_qty": "0",
                "filled_avg_price": None,
                "status": "accepted" if held else "new",
                "submitted_at": now.isoformat(),
                "plan": fault.kind if fault else "fill",
                "steps": [str(s) for s in fault.steps] if fault else [],
                "step": 0,
                "est_price": str(fill_price),
                "quantum": str(quantum),
            }
            doc["orders"][order["id"]] = order
            doc["by_client_id"][request.client_order_id] = order["id"]
            if not held and order["plan"] == "fill":
                fill(doc, order, total, fill_price)
            return to_order(order)

        return self._mutate(create)

    def get_order(self, broker_order_id: str) -> Order:
        if broker_order_id not in self._load()["orders"]:
            raise OrderNotFound(f"no order {broker_order_id!r} at the simulated broker")
        return self._poll(broker_order_id)

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        order_id = self._load()["by_client_id"].get(client_order_id)
        return None if order_id is None else self._poll(order_id)

    def cancel_order(self, broker_order_id: str) -> None:
        """Idempotent: an order already final stays as it is (read it for its state)."""
        now = self._now()

        def cancel(doc: Doc) -> None:
            order = doc["orders"].get(broker_order_id)
            if order is None:
                raise OrderNotFound(f"no order {broker_order_id!r} at the simulated broker")
            if order["status"] not in TERMINAL_STATES:
                order["status"] = "canceled"
                order["canceled_at"] = now.isoformat()

        self._mutate(cancel)

    # ---- internals -----------------------------------------------------------------------------

    def _poll(self, order_id: str) -> Order:
        """A poll moves an open order along its plan (fill, partial steps, late reject)."""
        snapshot = self._load()["orders"][order_id]
        if snapshot["status"] in TERMINAL_STATES or snapshot["plan"] == "stall":
            return to_order(snapshot)
        price = self._price_or_none(snapshot["symbol"])
        market_open = self._market_open(self._now())

        def move(doc: Doc) -> Order:
            order = doc["orders"][order_id]
            if order["status"] == "accepted" and market_open:
                order["status"] = "new"
            if order["status"] in ("new", "partially_filled") and price is not None:
                advance(doc, order, self._slipped(price, order["side"]))
            return to_order(order)

        return self._mutate(move)

    def _check_asset(self, request: OrderRequest) -> Asset:
        asset = self.get_assets([request.symbol]).get(request.symbol)
        if asset is None:
            raise OrderRejected(f"asset {request.symbol!r} not found")
        if not asset.tradable:
            raise OrderRejected(f"asset {request.symbol} is not tradable")
        problem = amount_problem(request.qty, request.notional)  # (OrderRequest checks it too)
        if problem is not None:
            raise OrderRejected(f"{problem}; order not placed")
        amount = request.qty if request.qty is not None else notional_of(request)
        if amount <= 0:
            raise OrderRejected("qty and notional must be positive")
        if request.notional is not None and request.notional < MIN_NOTIONAL:
            raise OrderRejected(f"notional must be at least ${MIN_NOTIONAL}")
        fractional = request.notional is not None or amount != amount.to_integral_value()
        if fractional and not asset.fractionable:
            raise OrderRejected(
                f"asset {request.symbol} is not fractionable; notional/fractional orders refused"
            )
        return asset

    def _slipped(self, price: Decimal, side: str) -> Decimal:
        if side == "buy":
            return (price * (1 + self._slippage)).quantize(PRICE_STEP, ROUND_UP)
        return (price * (1 - self._slippage)).quantize(PRICE_STEP, ROUND_DOWN)

    def _price_or_none(self, symbol: str) -> Decimal | None:
        try:
            price = Decimal(self._price_of(symbol))
        except Exception:  # an injected source: any failure means "no price"
            return None
        if not price.is_finite() or price <= 0 or price > MAX_PRICE:
            return None
        return price if places(price) <= QTY_PLACES else price.quantize(FRACTION_STEP)  # a float's long tail

    def _positions(self, doc: Doc) -> list[Position]:
        positions = []
        for symbol, held in sorted(doc["positions"].items()):
            qty = Decimal(held["qty"])
            on_order = sum((remaining(o) for o in open_orders(doc, "sell", symbol)), Decimal(0))
            price = self._price_or_none(symbol) or Decimal(held["last_price"])
            positions.append(
                Position(
                    symbol=symbol,
                    qty=qty,
                    market_value=_rounded(qty * price, CENT),
                    current_price=price,
                    avg_entry_price=_rounded(Decimal(held["cost"]) / qty, PRICE_STEP) if qty else None,
                    qty_available=qty - on_order,
                )
            )
        return positions

    def _market_open(self, now: datetime) -> bool:
        session = self._calendar.session(trading_date(now))
        return session is not None and session.open <= now < session.close

    def _next_session(self, now: datetime) -> Session:
        day = trading_date(now)
        for offset in range(1, 15):
            session = self._calendar.session(day + timedelta(days=offset))
            if session is not None:
                return session
        raise BrokerError(f"the calendar has no session in the two weeks after {day}")

    def _fresh(self) -> Doc:
        return {
            "account_id": f"SIM-{self._account_name}",
            "cash": str(self._starting_cash),
            "positions": {},
            "orders": {},
            "by_client_id": {},
            "created_at": datetime.now(UTC).isoformat(),
        }

    def _load(self) -> Doc:
        return self._table.get(self._key) or self._fresh()

    def _mutate(self, change: Callable[[Doc], T]) -> T:
        results: list[T] = []

        def update(old: Doc | None) -> Doc:
            doc = old if old is not None else self._fresh()
            results.append(change(doc))
            return doc

        self._table.transact(self._key, update)
        return results[0]


def _rounded(value: Decimal, step: Decimal) -> Decimal:
    """`value` to `step`, or as it is when that cannot be done (a position stored by an older version
    with an absurd quantity): reads never raise decimal.InvalidOperation; the events' bounds refuse it."""
    try:
        return value.quantize(step)
    except InvalidOperation:
        return value
