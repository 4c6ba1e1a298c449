"""One engine, two modes: for any strategy and any session D, the backtest's weights for D are what
`alchemiser signals` gives for a run on D and what the strategy Lambda publishes in SignalGenerated on D.

Strategies are random ones from the benchmark generator (bench/strategy_generator.py: nested ifs,
filters over groups and assets, inverse volatility), dates random sessions over ten years. Their tickers
(S000, S001, ...) are made up: every mode is asked to invent their histories (the offline market refuses
tickers it does not know otherwise).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alchemiser.backtest.engine import BacktestConfig, sessions_of
from alchemiser.backtest.evaluation import evaluate_days
from alchemiser.cli import main
from alchemiser.commands.signals import files_portfolio
from alchemiser.local.runtime import LocalRuntime
from alchemiser.local.storage import Archive
from bench.strategy_generator import generate
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import INVENTED_TICKERS_ENV, OfflineMarketData
from shared.runtime.clock import NEW_YORK

CALENDAR = ExchangeCalendar()
SESSIONS = [d.astype(date) for d in CALENDAR.sessions_between(date(2016, 1, 4), date(2026, 11, 25))]


def backtest_weights(portfolio, day: date) -> dict[str, Decimal]:
    config = BacktestConfig(portfolio, OfflineMarketData(invent_any=True), CALENDAR, day - timedelta(days=6), day,
                            attribution=False)
    targets = evaluate_days(config, sessions_of(config))
    assert targets[-1].trade_date == day
    return targets[-1].weights


def signals_weights(args: list[str], day: date) -> dict[str, Decimal]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["signals", *args, "--as-of", day.isoformat(), "--json", "--allow-invented-tickers"]) == 0
    return {s: Decimal(w) for s, w in json.loads(out.getvalue())["weights"].items()}


def lambda_weights(config: Path, day: date) -> dict[str, Decimal]:
    with tempfile.TemporaryDirectory() as state:
        at = datetime(day.year, day.month, day.day, 9, 35, tzinfo=NEW_YORK)
        env = {"ALCHEMISER_STRATEGY_CONFIG": str(config), INVENTED_TICKERS_ENV: "1"}
        hop, _ = LocalRuntime(Path(state), as_of=at, env=env).invoke("strategy", {"mode": "trade"})
        assert hop.response["status"] == "success", hop.response
        signal = next(e for e in Archive(Path(state)).events() if e["detail-type"] == "SignalGenerated")
    assert signal["detail"]["trading_date"] == day.isoformat()
    return {s: Decimal(w) for s, w in signal["detail"]["target_weights"].items()}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), index=st.integers(0, len(SESSIONS) - 1), lines=st.integers(40, 160))
def test_backtest_signals_and_the_lambda_agree_on_a_random_strategy_and_day(seed, index, lines):
    day = SESSIONS[index]
    with tempfile.TemporaryDirectory() as folder:
        strategy = Path(folder) / f"gen{seed}.clj"
        strategy.write_text(generate(lines=lines, symbols=12, seed=seed))
        config = Path(folder) / "portfolio.toml"
        config.write_text(f'[[strategy]]\nname = "gen{seed}"\nfile = "{strategy.name}"\nallocation = "1"\n')
        from_backtest = backtest_weights(files_portfolio([strategy]), day)
        assert from_backtest == signals_weights(["--strategy", str(strategy)], day)
        assert from_backtest == lambda_weights(config, day)
        assert sum(from_backtest.values()) == 1


def test_the_shipped_portfolio_agrees_on_a_week_of_days():
    portfolio = load_portfolio(PACKAGED_CONFIG)
    config = BacktestConfig(portfolio, OfflineMarketData(), CALENDAR, date(2026, 11, 16), date(2026, 11, 20),
                            attribution=False)
    for target in evaluate_days(config, sessions_of(config)):
        assert target.data_date == CALENDAR.previous_session(target.trade_date).date
        assert target.weights == signals_weights([], target.trade_date)
        assert target.weights == lambda_weights(PACKAGED_CONFIG, target.trade_date)
