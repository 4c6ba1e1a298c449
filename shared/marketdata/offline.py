"""OfflineMarketData: deterministic generated daily history (no keys, no network).

The model (factors, universe, derivations) lives in `offline_model`. This module builds it once
per process over the XNYS sessions from 2005-01-03 to 2035-12-31 and serves slices of it.

Every price here is SYNTHETIC (`synthetic = True`: every output that shows results says so). The
modelled universe is 87 ETFs with their own relationships (levered, inverse, volatility, bonds); the
well-known US stocks and ETFs of `offline_tickers` (and any `extra_symbols`) get a deterministic
generic stock-like series, seeded by the ticker (crc32), with a market beta in [0.5, 1.5] and an
idiosyncratic daily volatility of 0.8-2 %, so a real symphony runs offline. Any other ticker is
refused (UnknownTicker, naming the closest known ones): a typo must not become a strategy with an
invented history. `invent_any=True` (ALCHEMISER_ALLOW_INVENTED_TICKERS=1, `--allow-invented-tickers`)
gives every valid ticker a generic series; `strict=True` knows the modelled ETFs and `extra_symbols` only.
"""

from __future__ import annotations

import functools
import os
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from shared.marketdata import offline_model as model
from shared.marketdata import offline_tickers
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.port import MarketDataError, PriceHistory
from shared.marketdata.series import Closes, day64, unique_symbols
from shared.runtime.clock import trading_date

FloatArray = npt.NDArray[np.float64]
KNOWN_SYMBOLS = model.KNOWN_SYMBOLS
FIRST_DAY = model.BASE_DAY
LAST_DAY = model.END_DAY
_KNOWN = frozenset(model.KNOWN_SYMBOLS)
_LISTED = frozenset(offline_tickers.KNOWN) - _KNOWN
INVENTED_TICKERS_ENV = "ALCHEMISER_ALLOW_INVENTED_TICKERS"


def invented_tickers_allowed(env: Mapping[str, str] | None = None) -> bool:
    """ALCHEMISER_ALLOW_INVENTED_TICKERS=1 (what `--allow-invented-tickers` sets for the local functions)."""
    value = (os.environ if env is None else env).get(INVENTED_TICKERS_ENV, "")
    return value.strip().lower() in ("1", "true", "yes")


class UnknownTicker(MarketDataError):
    """Tickers the offline market does not know (most likely typos); `suggestions[symbol]`: the closest known."""

    def __init__(self, symbols: Sequence[str], message: str) -> None:
        super().__init__(message)
        self.symbols = tuple(symbols)
        self.suggestions = {s: offline_tickers.closest(s, model.KNOWN_SYMBOLS) for s in symbols}


def unknown_ticker_message(symbol: str) -> str:
    """"'ZZZQ' is not a ticker the offline market knows (closest: ZROZ, SQ, VZ)": one sentence, no advice."""
    close = ", ".join(offline_tickers.closest(symbol, model.KNOWN_SYMBOLS))
    return f"'{symbol}' is not a ticker the offline market knows (closest: {close})"


@dataclass(frozen=True)
class OfflineUniverse:
    """The generated market: `dates` are XNYS sessions; `raw` unrounded closes, `closes` rounded."""

    dates: npt.NDArray[np.datetime64]
    raw: dict[str, FloatArray]
    closes: dict[str, FloatArray]
    factors: model.Factors
    session_mask: npt.NDArray[np.bool_]
    """Over the weekday grid: True on sessions (the grid the factors live on)."""


@functools.lru_cache(maxsize=1)
def _grid() -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.bool_]]:
    weekdays = np.arange(day64(model.BASE_DAY), day64(model.END_DAY) + 1, dtype="datetime64[D]")
    weekdays = weekdays[np.is_busday(weekdays)]
    sessions = ExchangeCalendar().sessions_between(model.BASE_DAY, model.END_DAY)
    return weekdays, np.isin(weekdays, sessions)


@functools.lru_cache(maxsize=1)
def _factors() -> model.Factors:
    weekdays, _ = _grid()
    return model.build_factors(weekdays.shape[0])


def _finish(returns: FloatArray, anchor: float) -> tuple[FloatArray, FloatArray]:
    """Zero the non-session weekdays, drop them, scale to the anchor: (raw, rounded) closes."""
    weekdays, mask = _grid()
    sessions = weekdays[mask]
    anchor_index = int(np.searchsorted(sessions, day64(model.ANCHOR_DAY)))
    raw = model.prices_from_returns(returns[mask], anchor, anchor_index)
    return raw, model.round_prices(raw)


def _session_returns_on_grid(raw_returns: FloatArray) -> FloatArray:
    _, mask = _grid()
    return np.where(mask, raw_returns, 0.0)


@functools.lru_cache(maxsize=1)
def offline_universe() -> OfflineUniverse:
    """The whole known universe, built once per process."""
    weekdays, mask = _grid()
    factors = _factors()
    grid_returns: dict[str, FloatArray] = {}
    for symbol, base in model.BASES.items():
        grid_returns[symbol] = _session_returns_on_grid(model.base_returns(symbol, base, factors))
    for symbol, lev in model.LEVERED.items():
        grid_returns[symbol] = lev.multiple * grid_returns[lev.underlying]
    raw: dict[str, FloatArray] = {}
    closes: dict[str, FloatArray] = {}
    for symbol in model.KNOWN_SYMBOLS:
        anchor = model.BASES[symbol].anchor if symbol in model.BASES else model.LEVERED[symbol].anchor
        raw[symbol], closes[symbol] = _finish(grid_returns[symbol], anchor)
    return OfflineUniverse(weekdays[mask], raw, closes, factors, mask)


@functools.lru_cache(maxsize=4096)
def _generic(symbol: str) -> FloatArray:
    returns = _session_returns_on_grid(model.generic_returns(symbol, _factors()))
    return _finish(returns, model.generic_anchor(symbol))[1]


@functools.lru_cache(maxsize=4096)
def _cents(symbol: str) -> array[int]:
    """`symbol`'s rounded closes in whole cents where they are $1 or more (-1 below: more places), as an
    array of machine integers (read one at a time by the backtest: faster than numpy's scalars)."""
    universe = offline_universe()
    series = universe.closes[symbol] if symbol in universe.closes else _generic(symbol)
    cents = np.rint(series * 100.0)
    exact = (series >= 1.0) & (np.abs(series * 100.0 - cents) < 1e-6)  # the 2-place rounding is these cents
    return array("q", np.where(exact, cents, -1).astype(np.int64).tobytes())


@functools.lru_cache(maxsize=16384)
def _sessions_through(end: date) -> int:
    """How many sessions of the universe are on or before `end` (a backtest asks once a session, twice)."""
    return int(np.searchsorted(offline_universe().dates, day64(end), side="right"))


_CENT_DECIMALS: dict[int, Decimal] = {}


def _cents_decimal(cents: int) -> Decimal:
    """`_price_decimal` of a close of `cents` cents ($1 or more), one Decimal per amount."""
    found = _CENT_DECIMALS.get(cents)
    if found is None:
        if len(_CENT_DECIMALS) > 500_000:
            _CENT_DECIMALS.clear()
        found = _CENT_DECIMALS[cents] = Decimal(f"{cents // 100}.{cents % 100:02d}")
    return found


def _price_decimal(value: float) -> Decimal:
    if value >= 1.0:
        return Decimal(f"{value:.2f}")
    if value >= 0.01:
        return Decimal(f"{value:.4f}")
    return Decimal(repr(float(value)))


class OfflineMarketData:
    """MarketData (and RangeMarketData) over the generated universe; see the module doc."""

    synthetic = True
    """Generated prices, not market data: outputs label results computed on them."""

    def __init__(self, extra_symbols: Iterable[str] = (), *, strict: bool = False,
                 invent_any: bool | None = None) -> None:
        """`invent_any` None: ALCHEMISER_ALLOW_INVENTED_TICKERS decides (off unless set)."""
        extras = [s for s in dict.fromkeys(extra_symbols) if s not in _KNOWN]
        for symbol in extras:
            if not symbol or not symbol.isascii() or not symbol.replace(".", "").isalnum():
                raise ValueError(f"invalid extra symbol {symbol!r}")
        self.strict = strict
        self.invent_any = not strict and (invented_tickers_allowed() if invent_any is None else invent_any)
        self._extras = frozenset(extras) | (frozenset() if strict else _LISTED)
        self._checked: set[str] = set()

    def __repr__(self) -> str:
        return (f"OfflineMarketData(extra_symbols={len(self._extras)}, strict={self.strict}, "
                f"invent_any={self.invent_any})")

    @property
    def any_symbol(self) -> bool:
        """Whether any valid ticker has data (a simulated broker then knows every symbol)."""
        return self.invent_any

    def knows(self, symbol: str) -> bool:
        """Whether `symbol` has a history here without inventing one (a modelled ETF, listed, or an extra)."""
        return symbol in _KNOWN or symbol in self._extras

    @staticmethod
    def generic(symbols: Sequence[str]) -> list[str]:
        """Those of `symbols` outside the modelled ETF universe (generic synthetic series)."""
        return [s for s in symbols if s not in _KNOWN]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(sorted({*model.KNOWN_SYMBOLS, *self._extras}))

    def _series(self, symbol: str) -> FloatArray:
        """Rounded closes over `offline_universe().dates`; `symbol` already checked."""
        universe = offline_universe()
        return universe.closes[symbol] if symbol in universe.closes else _generic(symbol)

    def _check_symbols(self, symbols: Sequence[str]) -> list[str]:
        from shared.marketdata.csv_files import HOW_TO_GET_DATA
        from shared.marketdata.symbols import is_canonical

        wanted = unique_symbols(symbols)
        unknown = [s for s in wanted if not self.knows(s)]
        invalid = [s for s in unknown if not is_canonical(s)]
        if invalid:
            raise MarketDataError(
                f"no data for {', '.join(invalid)}: not valid tickers "
                f"({len(_KNOWN)} US ETFs, e.g. SPY, QQQ, TQQQ, BIL); check the ticker; {HOW_TO_GET_DATA}"
            )
        if unknown and not self.invent_any:
            sentences = "; ".join(unknown_ticker_message(s) for s in unknown)
            invent = "" if self.strict else (
                f"; to give it an invented (synthetic) history anyway: --allow-invented-tickers "
                f"({INVENTED_TICKERS_ENV}=1)")
            raise UnknownTicker(unknown, f"no data for {', '.join(unknown)}: {sentences}; check the ticker{invent}; "
                                         f"{HOW_TO_GET_DATA}")
        return wanted

    @staticmethod
    def _end_index(end: date) -> int:
        if end > LAST_DAY:
            raise MarketDataError(f"the offline market ends on {LAST_DAY}; asked for data through {end}")
        index = _sessions_through(end)
        if index == 0:
            raise MarketDataError(f"the offline market starts on {FIRST_DAY}; no data on or before {end}")
        return index

    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        if lookback_days < 1:
            raise ValueError(f"lookback_days must be >= 1, got {lookback_days}")
        wanted = self._check_symbols(symbols)
        hi = self._end_index(end)
        lo = max(0, hi - lookback_days)
        dates = offline_universe().dates[lo:hi].copy()
        return PriceHistory(dates=dates, closes={s: self._series(s)[lo:hi].copy() for s in wanted})

    def closes_between(self, symbols: Sequence[str], start: date, end: date) -> dict[str, Closes]:
        wanted = self._check_symbols(symbols)
        dates = offline_universe().dates
        lo = int(np.searchsorted(dates, day64(start), side="left"))
        hi = int(np.searchsorted(dates, day64(min(end, LAST_DAY)), side="right"))
        return {s: Closes(dates[lo:hi].copy(), self._series(s)[lo:hi].copy()) for s in wanted}

    def latest_prices(self, symbols: Sequence[str], at: datetime) -> dict[str, float]:
        """Simulated latest trades near the close: the generated close of `at`'s New York day
        (the offline market has one price a day, so "near the close" is the close)."""
        day = trading_date(at)
        wanted = self._check_symbols(symbols)
        index = int(np.searchsorted(offline_universe().dates, day64(day), side="left"))
        if index >= offline_universe().dates.shape[0] or offline_universe().dates[index] != day64(day):
            raise MarketDataError(f"no session on {day}: no latest trades to take as today's bar")
        return {s: float(self._series(s)[index]) for s in wanted}

    def latest_close(self, symbol: str, day: date) -> Decimal:
        """The close of the last session on or before `day`, as the Decimal a simulated broker fills at.

        Equal to the float the strategies see in PriceHistory (same rounding): 2 places from $1,
        4 places from 1 cent, 6 significant digits below that.
        """
        return self.latest_closes([symbol], day)[symbol]

    def latest_closes(self, symbols: Sequence[str], day: date) -> dict[str, Decimal]:
        """`latest_close` of several symbols at once (the backtest prices a whole portfolio a session)."""
        if not self._checked.issuperset(symbols):
            unchecked = [s for s in symbols if s not in self._checked]
            self._check_symbols(unchecked)
            self._checked.update(unchecked)
        index = self._end_index(day) - 1
        cents = [series[index] for series in map(_cents, symbols)]
        prices = list(map(_CENT_DECIMALS.get, cents))  # a session's ~500 symbols: the loop stays in C
        if not all(prices):  # a miss (None); a cached price is $1 or more, never falsy (`in` would call Decimal.__eq__)
            for i, (symbol, amount) in enumerate(zip(symbols, cents, strict=True)):
                if prices[i] is None:
                    prices[i] = _cents_decimal(amount) if amount >= 0 else \
                        _price_decimal(float(self._series(symbol)[index]))
        return dict(zip(symbols, prices, strict=True))  # type: ignore[arg-type]
