"""The generated market behind OfflineMarketData: factors, the ETF universe, and how each is derived.

Everything is generated once, from fixed seeds, on the weekday grid from BASE_DAY to END_DAY;
returns on weekdays that are not XNYS sessions are set to zero and those days dropped. So a
day's price never depends on the range anybody asks for, and a holiday added to the calendar
library would remove a day without shifting every later random draw.

Random streams are keyed by name (crc32, not Python's salted hash()), so adding a symbol
never changes another symbol's series.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

SEED = 20050103
BASE_DAY = date(2005, 1, 3)
END_DAY = date(2035, 12, 31)
ANCHOR_DAY = date(2026, 1, 2)
"""Each series is scaled so that its close on this session is its `anchor` price."""


def rng(name: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([SEED, zlib.crc32(name.encode("utf-8"))]))


# ---------------------------------------------------------------------------- market regimes
# bull, chop, correction, crash: daily drift and volatility of the market factor (SPY),
# the VIX level the regime pulls toward, and a drift in the 10-year yield (flight to quality).
REGIME_MU = np.array([0.00085, 0.0001, -0.0013, -0.0040])
REGIME_SIGMA = np.array([0.0070, 0.0110, 0.0150, 0.0300])
REGIME_VIX = np.array([14.0, 19.0, 26.0, 42.0])
REGIME_DYIELD = np.array([0.00003, 0.0, -0.00008, -0.00025])
TRANSITIONS = np.array(
    [
        [0.9955, 0.0030, 0.0013, 0.0002],
        [0.0100, 0.9820, 0.0070, 0.0010],
        [0.0120, 0.0100, 0.9745, 0.0035],
        [0.0060, 0.0120, 0.0250, 0.9570],
    ]
)


@dataclass(frozen=True)
class Factors:
    """Daily simple returns (or levels) on the weekday grid."""

    regime: npt.NDArray[np.int64]
    market: FloatArray
    vix: FloatArray
    vix_futures: FloatArray
    yield10: FloatArray
    dyield: FloatArray
    short_rate: FloatArray
    named: dict[str, FloatArray]
    """Zero-mean style factors: tech, small, intl, dollar, commodity, gold, oil, gas, crypto, trend."""


def _regimes(n: int) -> npt.NDArray[np.int64]:
    draws = rng("regime").random(n)
    cumulative = np.cumsum(TRANSITIONS, axis=1)
    states = np.empty(n, dtype=np.int64)
    state = 0
    for i in range(n):
        state = int(np.searchsorted(cumulative[state], draws[i], side="right"))
        state = min(state, 3)
        states[i] = state
    return states


def _fat_tails(name: str, n: int, df: float = 5.0) -> FloatArray:
    """Student-t draws scaled to unit variance."""
    t = rng(name).standard_t(df, n)
    return np.asarray(t / np.sqrt(df / (df - 2.0)), dtype=np.float64)


def _normal(name: str, n: int) -> FloatArray:
    return np.asarray(rng(name).standard_normal(n), dtype=np.float64)


def build_factors(n: int) -> Factors:
    regime = _regimes(n)
    market = np.clip(REGIME_MU[regime] + REGIME_SIGMA[regime] * _fat_tails("market", n), -0.2, 0.2)

    # VIX: mean-reverting log level pulled toward the regime's level, jumping when the market falls.
    vix_noise = _normal("vix", n)
    yield_noise = _normal("yield", n)
    log_vix = np.empty(n)
    yield10 = np.empty(n)
    level, y = np.log(15.0), 0.042
    for i in range(n):
        level += 0.07 * (np.log(REGIME_VIX[regime[i]]) - level) - 4.5 * market[i] + 0.03 * vix_noise[i]
        level = min(max(level, np.log(9.0)), np.log(85.0))
        log_vix[i] = level
        dy = 0.0015 * (0.035 - y) + REGIME_DYIELD[regime[i]] + 0.015 * market[i] + 0.0006 * yield_noise[i]
        y = min(max(y + dy, 0.004), 0.09)
        yield10[i] = y
    vix = np.exp(log_vix)
    dlog_vix = np.diff(log_vix, prepend=np.log(15.0))
    # Short-term VIX futures: about half the spot move, minus the contango roll when VIX is low
    # (a gain from backwardation when it is high).
    previous_vix = np.concatenate([[15.0], vix[:-1]])
    roll = np.clip(0.0032 - 0.00018 * (previous_vix - 15.0), -0.004, 0.0032)
    vix_futures = np.clip(np.expm1(0.55 * dlog_vix) - roll, -0.3, 1.5)

    dyield = np.diff(yield10, prepend=0.042)
    short_rate = np.clip(yield10 - 0.012, 0.0005, 0.06)
    scales = {
        "tech": 0.0055, "small": 0.0050, "intl": 0.0050, "dollar": 0.0040, "commodity": 0.0100,
        "gold": 0.0095, "oil": 0.0170, "gas": 0.0300, "crypto": 0.0380, "trend": 0.0070,
    }  # fmt: skip
    named = {name: scale * _fat_tails(f"factor:{name}", n) for name, scale in scales.items()}
    named["trend"] = named["trend"] + 0.0025 * (regime == 3) - 0.0004 * (regime == 0)
    return Factors(regime, market, vix, vix_futures, yield10, dyield, short_rate, named)


# ---------------------------------------------------------------------------- the universe
@dataclass(frozen=True)
class Base:
    """A directly modelled ETF: r = alpha + beta*market + sum(loadings*factors) - duration*dyield
    + carry*yield/252 + short*short_rate/252 + vol*noise."""

    anchor: float
    beta: float = 0.0
    loadings: tuple[tuple[str, float], ...] = ()
    vol: float = 0.002
    alpha: float = 0.0
    duration: float = 0.0
    carry: float = 0.0
    short: float = 0.0
    vix_futures: float = 0.0


@dataclass(frozen=True)
class Levered:
    """Daily simple return = multiple x the underlying's daily simple return (no fees)."""

    anchor: float
    underlying: str
    multiple: float


def _f(**loadings: float) -> tuple[tuple[str, float], ...]:
    return tuple(loadings.items())


BASES: dict[str, Base] = {
    # US equity: SPY *is* the market factor.
    "SPY": Base(680.0, beta=1.0, vol=0.0),
    "VOO": Base(625.0, beta=1.0, vol=0.0004),
    "IVV": Base(683.0, beta=1.0, vol=0.0004),
    "VTI": Base(335.0, beta=1.02, loadings=_f(small=0.15), vol=0.0010),
    "DIA": Base(482.0, beta=0.93, loadings=_f(tech=-0.2), vol=0.0030),
    "QQQ": Base(615.0, beta=1.10, loadings=_f(tech=1.0), vol=0.0020, alpha=0.00008),
    "IWM": Base(248.0, beta=1.15, loadings=_f(small=1.0), vol=0.0020, alpha=-0.00005),
    # Sectors.
    "XLK": Base(285.0, beta=1.12, loadings=_f(tech=1.1), vol=0.0030, alpha=0.00008),
    "SOXX": Base(290.0, beta=1.45, loadings=_f(tech=1.6), vol=0.0100, alpha=0.00010),
    "SMH": Base(345.0, beta=1.45, loadings=_f(tech=1.6), vol=0.0095, alpha=0.00010),
    "XLE": Base(88.0, beta=0.95, loadings=_f(oil=0.55, commodity=0.2), vol=0.0080, alpha=-0.0001),
    "XLV": Base(148.0, beta=0.70, vol=0.0060),
    "XLF": Base(53.0, beta=1.15, loadings=_f(small=0.3), vol=0.0070),
    "XLP": Base(79.0, beta=0.55, vol=0.0050),
    "XLU": Base(42.0, beta=0.45, vol=0.0070, duration=4.0),
    "XLI": Base(152.0, beta=1.05, vol=0.0050),
    "XLY": Base(235.0, beta=1.10, loadings=_f(tech=0.3), vol=0.0060),
    "XLB": Base(90.0, beta=1.00, loadings=_f(commodity=0.3), vol=0.0060),
    "XLC": Base(113.0, beta=1.00, loadings=_f(tech=0.5), vol=0.0070),
    "XLRE": Base(41.0, beta=0.95, vol=0.0070, duration=6.0),
    "VOX": Base(180.0, beta=0.90, loadings=_f(tech=0.3), vol=0.0070),
    "VNQ": Base(90.0, beta=1.00, vol=0.0080, duration=6.0),
    "XBI": Base(120.0, beta=1.20, loadings=_f(small=0.8), vol=0.0150, alpha=-0.0001),
    "KRE": Base(63.0, beta=1.20, loadings=_f(small=0.8), vol=0.0100),
    # International.
    "VEA": Base(60.0, beta=0.85, loadings=_f(intl=0.8, dollar=-0.5), vol=0.0030, alpha=-0.00008),
    "EFA": Base(95.0, beta=0.85, loadings=_f(intl=0.8, dollar=-0.5), vol=0.0030, alpha=-0.00008),
    "VWO": Base(53.0, beta=1.00, loadings=_f(intl=1.2, dollar=-0.7), vol=0.0060, alpha=-0.00012),
    "EEM": Base(53.0, beta=1.00, loadings=_f(intl=1.2, dollar=-0.7), vol=0.0060, alpha=-0.00012),
    "FXI": Base(39.0, beta=0.90, loadings=_f(intl=1.3, dollar=-0.5), vol=0.0120, alpha=-0.00015),
    "EWJ": Base(78.0, beta=0.75, loadings=_f(intl=0.7, dollar=-0.4), vol=0.0060),
    # Bonds and cash.
    "BIL": Base(91.5, short=1.0, vol=0.00003),
    "SHV": Base(110.3, short=1.0, vol=0.00003),
    "SHY": Base(82.8, short=1.0, duration=1.9, vol=0.0004),
    "IEI": Base(119.0, carry=1.0, duration=4.5, vol=0.0006),
    "IEF": Base(96.0, carry=1.0, duration=7.5, vol=0.0008),
    "TLT": Base(87.0, carry=1.0, duration=17.0, vol=0.0015),
    "BND": Base(74.0, beta=0.03, carry=1.0, duration=6.2, vol=0.0008),
    "AGG": Base(100.0, beta=0.03, carry=1.0, duration=6.2, vol=0.0008),
    "TIP": Base(111.0, carry=0.6, duration=6.8, loadings=_f(commodity=0.05), vol=0.0020),
    "LQD": Base(111.0, beta=0.10, carry=1.2, duration=8.5, vol=0.0025),
    "HYG": Base(81.0, beta=0.35, carry=1.6, duration=3.8, vol=0.0020),
    "JNK": Base(98.0, beta=0.35, carry=1.6, duration=3.8, vol=0.0022),
    # Commodities, currencies, alternatives.
    "GLD": Base(395.0, beta=-0.05, loadings=_f(gold=1.0), vol=0.0010, alpha=0.00025),
    "IAU": Base(80.0, beta=-0.05, loadings=_f(gold=1.0), vol=0.0010, alpha=0.00025),
    "SLV": Base(62.0, beta=0.10, loadings=_f(gold=1.3), vol=0.0120, alpha=0.00010),
    "GDX": Base(78.0, beta=0.50, loadings=_f(gold=2.0), vol=0.0130, alpha=-0.00005),
    "DBC": Base(22.5, beta=0.25, loadings=_f(commodity=1.0, oil=0.3), vol=0.0020, alpha=-0.00005),
    "USO": Base(70.0, beta=0.50, loadings=_f(oil=1.0, commodity=0.4), vol=0.0050, alpha=-0.00030),
    "UNG": Base(14.0, beta=0.10, loadings=_f(gas=1.0, commodity=0.2), vol=0.0050, alpha=-0.00090),
    "UUP": Base(27.0, beta=-0.05, loadings=_f(dollar=0.6), vol=0.0015),
    "KMLM": Base(27.0, beta=-0.15, loadings=_f(trend=1.0), vol=0.0020, alpha=0.00005),
    "DBMF": Base(29.0, beta=-0.10, loadings=_f(trend=0.9), vol=0.0025, alpha=0.00005),
    "BITO": Base(11.5, beta=0.50, loadings=_f(crypto=1.0, tech=0.3), vol=0.0050, alpha=0.0004),
    # Volatility: VXX *is* the short-term VIX-futures proxy.
    "VXX": Base(34.0, vix_futures=1.0, vol=0.0),
    "VIXY": Base(33.0, vix_futures=1.0, vol=0.0015),
    "VIXM": Base(15.0, vix_futures=0.45, vol=0.0030, alpha=0.0008),
}

LEVERED: dict[str, Levered] = {
    "TQQQ": Levered(54.0, "QQQ", 3.0),
    "SQQQ": Levered(14.5, "QQQ", -3.0),
    "QLD": Levered(72.0, "QQQ", 2.0),
    "PSQ": Levered(31.0, "QQQ", -1.0),
    "UPRO": Levered(110.0, "SPY", 3.0),
    "SPXL": Levered(215.0, "SPY", 3.0),
    "SPXU": Levered(16.0, "SPY", -3.0),
    "SPXS": Levered(4.0, "SPY", -3.0),
    "SSO": Levered(115.0, "SPY", 2.0),
    "SDS": Levered(16.0, "SPY", -2.0),
    "SH": Levered(36.0, "SPY", -1.0),
    "UDOW": Levered(105.0, "DIA", 3.0),
    "SDOW": Levered(22.0, "DIA", -3.0),
    "TNA": Levered(47.0, "IWM", 3.0),
    "TZA": Levered(7.0, "IWM", -3.0),
    "SOXL": Levered(44.0, "SOXX", 3.0),
    "SOXS": Levered(3.6, "SOXX", -3.0),
    "TECL": Levered(120.0, "XLK", 3.0),
    "TECS": Levered(20.0, "XLK", -3.0),
    "FAS": Levered(170.0, "XLF", 3.0),
    "FAZ": Levered(4.2, "XLF", -3.0),
    "ERX": Levered(57.0, "XLE", 2.0),
    "LABU": Levered(170.0, "XBI", 3.0),
    "LABD": Levered(4.5, "XBI", -3.0),
    "TMF": Levered(38.0, "TLT", 3.0),
    "TMV": Levered(35.0, "TLT", -3.0),
    "UBT": Levered(17.0, "TLT", 2.0),
    "TBT": Levered(33.0, "TLT", -2.0),
    "UGL": Levered(52.0, "GLD", 2.0),
    "UVXY": Levered(29.0, "VXX", 1.5),
    "SVXY": Levered(48.0, "VXX", -0.5),
}

KNOWN_SYMBOLS: tuple[str, ...] = tuple(sorted([*BASES, *LEVERED]))


def base_returns(symbol: str, spec: Base, factors: Factors) -> FloatArray:
    n = factors.market.shape[0]
    r = spec.alpha + spec.beta * factors.market + spec.vix_futures * factors.vix_futures
    for name, loading in spec.loadings:
        r = r + loading * factors.named[name]
    r = r - spec.duration * factors.dyield
    r = r + spec.carry * factors.yield10 / 252.0 + spec.short * factors.short_rate / 252.0
    if spec.vol:
        r = r + spec.vol * _fat_tails(f"symbol:{symbol}", n)
    high = 1.5 if spec.vix_futures else 0.3
    return np.asarray(np.clip(r, -0.3, high), dtype=np.float64)


def generic_returns(symbol: str, factors: Factors) -> FloatArray:
    """A plausible stock-like series for a benchmark symbol outside the universe."""
    draws = rng(f"generic:{symbol}").random(3)
    beta, vol, alpha = 0.5 + draws[0], 0.008 + 0.012 * draws[1], 0.0004 * (draws[2] - 0.4)
    r = alpha + beta * factors.market + vol * _fat_tails(f"symbol:{symbol}", factors.market.shape[0])
    return np.asarray(np.clip(r, -0.3, 0.3), dtype=np.float64)


def generic_anchor(symbol: str) -> float:
    return 20.0 + float(zlib.crc32(symbol.encode("utf-8")) % 18000) / 100.0


def prices_from_returns(returns: FloatArray, anchor: float, anchor_index: int) -> FloatArray:
    growth = np.cumprod(1.0 + returns)
    return np.asarray(anchor * growth / growth[anchor_index], dtype=np.float64)


def round_prices(prices: FloatArray) -> FloatArray:
    """Cents from $1 up, 4 places from 1 cent, 6 significant digits below (decayed products)."""
    cents = np.round(prices, 2)
    four = np.round(prices, 4)
    safe = np.where(prices > 0, prices, 1.0)
    digits = 5 - np.floor(np.log10(safe))
    tiny = np.round(prices * 10.0**digits) / 10.0**digits
    return np.asarray(np.where(prices >= 1.0, cents, np.where(prices >= 0.01, four, tiny)), dtype=np.float64)
