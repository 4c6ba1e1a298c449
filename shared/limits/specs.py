"""The limits' names, kinds and reasons: no pydantic, so `alchemiser <command> --help` lists the flags at once.

The values' rules and defaults are model.py's; this is what every place that names a limit reads
(the flags, the environment variables, the template parameters, the docs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["weight", "fraction", "count", "mode", "symbol", "switch"]
ENV_PREFIX = "ALCHEMISER_"


@dataclass(frozen=True)
class LimitSpec:
    key: str
    kind: Kind
    parameter: str
    """The template parameter that overrides it in a deployed stage."""
    summary: str
    why: str
    """Why the default is what it is (docs and `alchemiser limits` print it)."""

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper()


SPECS: tuple[LimitSpec, ...] = (
    LimitSpec("max_position_weight", "weight", "MaxPositionWeight",
              "largest weight of equity any position the plan buys may reach (0 to 1)",
              "1: a symphony may hold 100% of one asset (a 'TQQQ or BIL' switcher does every day)"),
    LimitSpec("position_cap", "mode", "PositionCap",
              "when max_position_weight binds: refuse (the plan places nothing) or clip (the position is "
              "scaled to the cap, the rest stays in cash or goes to cash_symbol)",
              "refuse: with the default cap of 1 it never binds; a cap you set should be loud, not silent"),
    LimitSpec("cash_symbol", "symbol", "CashSymbol",
              "with position_cap = clip: where the clipped weight goes (e.g. BIL); empty: it stays in cash",
              "empty: cash is the one holding that needs no order"),
    LimitSpec("max_order_equity_fraction", "fraction", "MaxOrderEquityFraction",
              "largest single buy, as a share of equity",
              "1.05: one buy larger than the whole account would need margin, so it is a mistake; the 5% "
              "lets prices move between the plan and the order"),
    LimitSpec("max_turnover_equity_fraction", "fraction", "MaxTurnoverEquityFraction",
              "what one run may buy in all, as a share of equity",
              "1.05: a full switch buys about the whole account (less the cash reserve), never more"),
    LimitSpec("max_daily_turnover_equity_fraction", "fraction", "MaxDailyTurnoverEquityFraction",
              "what every run of one trading day may buy together on the account, as a share of equity",
              "1.5: a day's plan buys at most the account once; a retry after a partial day fits, buying it "
              "all over again means two runs are trading one account"),
    LimitSpec("max_orders_per_run", "count", "MaxOrdersPerRun",
              "buy orders one run may place",
              "500: about what one execution run can place inside Alpaca's rate limit (190 requests a minute, "
              "two or more per order, a five-minute function); the bench's 19-strategy corpus buys 284 on its "
              "first day, the shipped portfolio at most 10"),
    LimitSpec("max_price_move", "fraction", "MaxPriceMove",
              "largest move of the broker's price from the plan's, for a buy sized in shares",
              "0.25: plan and order are seconds apart; a quarter's move in that time is bad data "
              "(a split, a stale quote), not the market"),
    LimitSpec("manage_whole_account", "switch", "ManageWholeAccount",
              "true: the plan manages every position on the account, shares bought by hand included (sells what "
              "no strategy targets); false: only what the system bought and what its strategies target",
              "false: the account is yours; shares you bought by hand are left alone, shown as not managed, and "
              "not counted in the equity the strategies are sized on"),
)
SPEC_OF = {spec.key: spec for spec in SPECS}
KEYS = tuple(spec.key for spec in SPECS)
