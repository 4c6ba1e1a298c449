"""A large, valid, deterministic strategy for benchmarks: nested `if`s, filters over groups and assets,
inverse-volatility and specified weights, over generated tickers S000, S001, ...

    text = generate(lines=10_000, symbols=200, seed=0)   # exactly `lines` lines

The tickers are made up, so the offline market refuses them as typos unless asked to invent their
histories: `OfflineMarketData(extra_symbols=tickers(n))` (or `invent_any=True`) in code,
`--allow-invented-tickers` on the command line, ALCHEMISER_ALLOW_INVENTED_TICKERS=1 for local functions.
"""

from __future__ import annotations

import random

_WINDOWS = (5, 10, 14, 20, 50, 60, 100, 200)
_RANKINGS = ("rsi", "cumulative-return", "moving-average-return", "stdev-return", "max-drawdown")


def tickers(symbols: int) -> list[str]:
    return [f"S{i:03d}" for i in range(symbols)]


class _Writer:
    def __init__(self, rng: random.Random, names: list[str]) -> None:
        self.rng = rng
        self.names = names
        self.out: list[str] = []
        self.groups = 0

    def line(self, depth: int, text: str) -> None:
        self.out.append(" " * depth + text)

    def ticker(self) -> str:
        return self.rng.choice(self.names)

    def window(self) -> int:
        return self.rng.choice(_WINDOWS)

    def condition(self) -> str:
        rng, s, w = self.rng, self.ticker(), self.window()
        choices = (
            f'(> (current-price "{s}") (moving-average-price "{s}" {{:window {w}}}))',
            f'(> (rsi "{s}" {{:window {w}}}) {rng.randint(20, 80)})',
            f'(< (cumulative-return "{s}" {{:window {w}}}) {rng.randint(-10, 10)})',
            f'(> (stdev-return "{s}" {{:window {w}}}) {rng.choice(("1", "1.5", "2", "2.5"))})',
            f'(> (max-drawdown "{s}" {{:window {w}}}) {rng.randint(5, 20)})',
            f'(> (exponential-moving-average-price "{s}" {{:window {w}}}) (moving-average-price "{s}" {{:window 50}}))',
            f'(< (moving-average-return "{s}" {{:window {w}}}) 0.{rng.randint(0, 9)})',
            f'(< (stdev-price "{s}" {{:window 20}}) (stdev-price "{s}" {{:window 100}}))',
            f'(> (rsi "{s}" {{:window 10}}) (rsi "{self.ticker()}" {{:window 10}}))',
        )
        return rng.choice(choices)

    def asset(self, depth: int) -> None:
        self.line(depth, f'(asset "{self.ticker()}" nil)')

    def node(self, depth: int, budget: int, groups_ok: bool = True) -> None:
        """One node of nesting `budget`; leaves are assets."""
        if budget <= 0:
            self.asset(depth)
            return
        kinds = ["if", "if", "if", "assets", "inverse", "specified"] + (["groups", "groups"] if groups_ok else [])
        kind = self.rng.choice(kinds)
        if kind == "if":
            self.line(depth, f"(if {self.condition()}")
            for _ in range(2):
                self.line(depth + 1, "[")
                self.node(depth + 2, budget - 1, groups_ok)
                self.line(depth + 1, "]")
            self.line(depth, ")")
        elif kind == "groups":
            self.filter_groups(depth, budget)
        elif kind == "assets":
            side = self.rng.choice(("top", "bottom"))
            self.line(depth, f"(filter ({self.rng.choice(_RANKINGS)} {{:window {self.window()}}}) (select-{side} 2)")
            self.line(depth + 1, "[")
            for _ in range(self.rng.randint(3, 6)):
                self.asset(depth + 2)
            self.line(depth + 1, "])")
        elif kind == "inverse":
            self.line(depth, f"(weight-inverse-volatility {self.rng.choice((20, 60))}")
            self.line(depth + 1, "[")
            for _ in range(self.rng.randint(2, 4)):
                self.asset(depth + 2)
            self.line(depth + 1, "])")
        else:
            self.line(depth, "(weight-specified")
            self.line(depth + 1, "0.6")
            self.node(depth + 1, budget - 1, groups_ok)
            self.line(depth + 1, "0.4")
            self.asset(depth + 1)
            self.line(depth, ")")

    def filter_groups(self, depth: int, budget: int) -> None:
        side = self.rng.choice(("top", "bottom"))
        ranking = self.rng.choice(_RANKINGS)
        self.line(depth, f"(filter ({ranking} {{:window {self.rng.choice((10, 20, 60))}}}) (select-{side} 1)")
        self.line(depth + 1, "[")
        for _ in range(self.rng.randint(2, 4)):
            self.groups += 1
            self.line(depth + 2, f'(group "G{self.groups}"')
            self.line(depth + 3, "[(weight-equal")
            self.line(depth + 4, "[")
            for _ in range(self.rng.randint(1, 2)):
                self.node(depth + 5, budget - 1, groups_ok=False)
            self.asset(depth + 5)
            self.line(depth + 4, "])])")
        self.line(depth + 1, "])")

    def chain(self, depth: int, length: int) -> None:
        """An else-if chain `length` deep."""
        for i in range(length):
            self.line(depth + i, f"(if {self.condition()}")
            self.line(depth + i + 1, "[")
            self.asset(depth + i + 2)
            self.line(depth + i + 1, "]")
            self.line(depth + i + 1, "[")
        self.asset(depth + length + 1)
        for i in range(length - 1, -1, -1):
            self.line(depth + i + 1, "]")
            self.line(depth + i, ")")


def generate(lines: int = 10_000, symbols: int = 200, seed: int = 0) -> str:
    """A valid strategy of exactly `lines` lines (at least 40) over `symbols` tickers."""
    if lines < 40 or symbols < 2:
        raise ValueError("need at least 40 lines and 2 symbols")
    rng = random.Random(seed)
    w = _Writer(rng, tickers(symbols))
    w.line(0, f'(defsymphony "Generated {lines} lines, {symbols} symbols, seed {seed}"')
    w.line(1, '{:asset-class "EQUITIES", :rebalance-threshold 0.05}')
    w.line(1, "(weight-equal")
    w.line(2, "[")
    w.chain(3, 5)  # a short chain keeps even the smallest output a valid nested if
    block = 0
    while True:
        mark = len(w.out)
        block += 1
        w.line(3, f'(group "Block {block}"')
        w.line(4, "[")
        if block % 10 == 0:
            w.chain(5, 60)
        else:
            w.node(5, rng.randint(3, 6))
        w.line(4, "])")
        if len(w.out) + 2 > lines:
            del w.out[mark:]
            break
    w.line(2, "]))")
    w.out += [";"] * (lines - len(w.out))
    return "\n".join(w.out) + "\n"


SWITCH_TICKERS = ("TQQQ", "UGL", "BIL", "SOXL", "TLT", "UVXY", "SPXL", "GLD")
"""What single-asset Composer switchers hold: a leveraged ETF, gold, or T-bills (one at a time, 100%)."""


def single_asset(seed: int = 0, names: tuple[str, ...] = SWITCH_TICKERS) -> str:
    """A valid switcher that holds exactly one asset, 100%, every day ('TQQQ or BIL', a filter picking one
    ticker): nested `if`s (0 to 3 deep) over single assets, or a `select-top 1` filter."""
    rng = random.Random(seed)
    w = _Writer(rng, list(names))
    w.line(0, f'(defsymphony "Single-asset switcher, seed {seed}" {{:asset-class "EQUITIES"}}')
    if rng.random() < 0.25:
        ranking = rng.choice(("rsi", "cumulative-return", "moving-average-return"))
        w.line(1, f"(filter ({ranking} {{:window {w.window()}}}) (select-top 1)")
        w.line(2, "[")
        for name in rng.sample(list(names), 3):
            w.line(3, f'(asset "{name}")')
        w.line(2, "])")
    else:
        w.chain(1, rng.randint(0, 3))
    w.line(0, ")")
    return "\n".join(w.out) + "\n"
