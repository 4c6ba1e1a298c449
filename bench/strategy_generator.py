"""Strategies that look like real Composer files, for benchmarks and property tests.

What real files look like (94 public symphonies, 302k lines; issue 23):

| measure | median | p90 | max |
|---|---|---|---|
| lines | 274 | 13,997 | 19,175 |
| nesting depth | 25 | 92 | 144 |
| filters | 5 | 212 | 359 |
| filters whose candidates are groups | 0 | 5 | 33 |
| filters over groups nested inside each other | 0 | 2 | 4 |
| largest window | 200 | 400 | 600 |
| distinct tickers | 14 | 78 | 509 |
| inverse-volatility nodes | 0 | 7 | 305 |

13 of the 94 exceed 10,000 lines; 14 nest filters over groups at least 2 deep; 28 use windows above 200.

    shape = Shape(lines=2_000, depth=40, filters=30, group_filters=3, group_nesting=2, max_window=400,
                  tickers=60, inverse_vol=5)
    text = write(shape, seed=0)                  # a valid .clj of about `shape.lines` lines
    shapes = corpus_shapes(100)                  # 100 shapes with the table's distribution
    giant = GIANT                                # the largest real file's shape
    measure(parse_text(text))                    # the Shape a parsed strategy actually has
    generate(lines=10_000, symbols=200, seed=0)  # a shape drawn for that size, written

Files are printed as Composer's editor exports them (one argument per line, children vectors
opening on the parent's line), in one of three dialects: plain `.clj` with bare tickers, Composer's
`EQUITIES::SPY//USD` tickers, or the editor's "Def" tab (no outer parentheses, `weight-specified`
with a vector of weights and a vector of children).

The tickers are made up, so the offline market refuses them as typos unless asked to invent their
histories: `OfflineMarketData(extra_symbols=tickers(n))` (or `invent_any=True`) in code,
`--allow-invented-tickers` on the command line, ALCHEMISER_ALLOW_INVENTED_TICKERS=1 for local functions.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

_RSI_WINDOWS = (2, 5, 7, 10, 10, 10, 11, 14, 14, 15, 16, 20, 21, 30, 45, 60)
_WINDOWS = (3, 5, 10, 14, 20, 21, 30, 40, 50, 60, 90, 100, 120, 150, 200, 200, 210, 252, 300, 350, 400, 500, 600)
_RANKINGS = ("rsi", "cumulative-return", "moving-average-return", "stdev-return", "max-drawdown",
             "current-price", "moving-average-price", "exponential-moving-average-price", "stdev-price")
_GROUP_RANKINGS = ("rsi", "cumulative-return", "moving-average-return", "stdev-return", "max-drawdown")
DIALECTS = ("clj", "equities", "def")


@dataclass(frozen=True)
class Shape:
    """What a strategy file looks like, in the measures of the table above."""

    lines: int
    depth: int
    filters: int
    group_filters: int
    group_nesting: int
    max_window: int
    tickers: int
    inverse_vol: int


GIANT = Shape(lines=19_175, depth=144, filters=359, group_filters=33, group_nesting=4, max_window=600, tickers=509,
              inverse_vol=305)
"""The largest real file (every maximum of the table at once)."""

# (quantile, value) knots of each measure: the table's median, p90 and max, plus a minimum
_KNOTS: dict[str, tuple[tuple[float, float], ...]] = {
    "lines": ((0.0, 60), (0.5, 274), (0.862, 10_000), (0.9, 13_997), (1.0, 19_175)),
    "depth": ((0.0, 6), (0.5, 25), (0.9, 92), (1.0, 144)),
    "filters": ((0.0, 0), (0.5, 5), (0.9, 212), (1.0, 359)),
    "group_filters": ((0.0, 0), (0.5, 0), (0.6, 1), (0.9, 5), (1.0, 33)),
    "group_nesting": ((0.0, 0), (0.5, 0), (0.6, 1), (0.851, 1), (0.852, 2), (0.97, 2), (0.99, 3), (1.0, 4)),
    "max_window": ((0.0, 20), (0.5, 200), (0.702, 200), (0.703, 210), (0.9, 400), (1.0, 600)),
    "tickers": ((0.0, 3), (0.5, 14), (0.9, 78), (1.0, 509)),
    "inverse_vol": ((0.0, 0), (0.5, 0), (0.6, 1), (0.9, 7), (1.0, 305)),
}


def quantile(measure: str, u: float) -> int:
    """The measure's value at quantile u, interpolated between the knots on a log(1 + x) scale."""
    knots = _KNOTS[measure]
    for (u0, v0), (u1, v1) in itertools.pairwise(knots):
        if u <= u1:
            f = 0.0 if u1 == u0 else (u - u0) / (u1 - u0)
            return round(math.expm1(math.log1p(v0) + f * (math.log1p(v1) - math.log1p(v0))))
    return round(knots[-1][1])


def _consistent(shape: Shape) -> Shape:
    """Measures that real files cannot combine are clipped (nesting needs that many group filters)."""
    group_filters = min(shape.group_filters, shape.filters)
    nesting = min(shape.group_nesting, group_filters)
    if group_filters and not nesting:
        nesting = 1
    return replace(shape, group_filters=group_filters, group_nesting=nesting,
                   depth=max(3, min(shape.depth, shape.lines // 3)), tickers=max(2, shape.tickers))


def shape_at(size: float, other: float, window: float) -> Shape:
    """A shape whose size-like measures sit at quantile `size`, its depth near it, its nesting at `other`
    and its largest window at `window`."""
    return _consistent(Shape(
        lines=quantile("lines", size), depth=quantile("depth", min(1.0, 0.15 + 0.85 * size)),
        filters=quantile("filters", size), group_filters=quantile("group_filters", size),
        group_nesting=quantile("group_nesting", other), max_window=quantile("max_window", window),
        tickers=quantile("tickers", size), inverse_vol=quantile("inverse_vol", size)))


def corpus_shapes(files: int = 100, seed: int = 0) -> list[Shape]:
    """`files` shapes whose quantiles are the table's: sizes stratified over (0, 1], the largest is
    the giant (in a corpus of 20 or more), nesting and windows drawn independently (also stratified)."""
    rng = random.Random(seed)
    sizes = [(i + 0.5) / files for i in range(files)]
    others = [(i + 0.5) / files for i in range(files)]
    windows = [(i + 0.5) / files for i in range(files)]
    rng.shuffle(others)
    rng.shuffle(windows)
    shapes = [shape_at(u, max(o, u if u > 0.9 else 0.0), w) for u, o, w in zip(sizes, others, windows, strict=True)]
    if files >= 20:
        shapes[-1] = GIANT
    return shapes


def sample_shape(rng: random.Random, *, max_lines: int = 400, max_tickers: int = 15) -> Shape:
    """A shape drawn from the table's distribution, scaled down to at most `max_lines` lines and
    `max_tickers` tickers (property tests), keeping nesting and windows as drawn."""
    shape = shape_at(rng.random(), rng.random(), rng.random())
    scale = min(1.0, max_lines / shape.lines)
    return _consistent(replace(
        shape, lines=max(40, round(shape.lines * scale)), depth=max(3, round(shape.depth * max(scale, 0.3))),
        filters=round(shape.filters * scale) + (shape.group_filters > 0), tickers=min(shape.tickers, max_tickers),
        group_filters=min(shape.group_filters, max(shape.group_nesting, round(shape.group_filters * scale))),
        inverse_vol=round(shape.inverse_vol * scale)))


def tickers(symbols: int) -> list[str]:
    return [f"S{i:03d}" for i in range(symbols)]


# ---------------------------------------------------------------------------------------- the tree

Tree = tuple[Any, ...]


class _Builder:
    """Builds an abstract tree that hits a shape's counts, then leaves the printing to `_Printer`."""

    def __init__(self, shape: Shape, rng: random.Random, names: Sequence[str]) -> None:
        self.shape, self.rng = shape, rng
        self.names = list(names)
        self.unused = list(names)
        rng.shuffle(self.unused)
        self.groups = 0
        self.largest_used = False

    def ticker(self) -> str:
        if self.unused:
            return self.unused.pop()
        # popular tickers are reused most (SPY, TQQQ, ...): a skew towards the first names
        return self.names[min(len(self.names) - 1, int(len(self.names) * self.rng.random() ** 2.5))]

    def window(self, *, rsi: bool = False) -> int:
        top = self.shape.max_window
        if not self.largest_used and self.rng.random() < 0.2:
            self.largest_used = True
            return top
        pool = [w for w in (_RSI_WINDOWS if rsi else _WINDOWS) if w <= top] or [min(top, 10)]
        return self.rng.choice(pool)

    def condition(self) -> str:
        rng, s = self.rng, self.ticker()
        pick = rng.random()
        if pick < 0.35:
            return f'(> (rsi "{s}" {{:window {self.window(rsi=True)}}}) {rng.randint(20, 85)})'
        if pick < 0.5:
            return f'(< (rsi "{s}" {{:window {self.window(rsi=True)}}}) {rng.randint(15, 40)})'
        if pick < 0.65:
            return f'(> (current-price "{s}") (moving-average-price "{s}" {{:window {self.window()}}}))'
        if pick < 0.73:
            return f'(< (cumulative-return "{s}" {{:window {self.window()}}}) {rng.randint(-12, 6)})'
        if pick < 0.79:
            return f'(> (stdev-return "{s}" {{:window {self.window()}}}) {rng.choice(("1", "1.5", "2.5", "3.8"))})'
        if pick < 0.84:
            return f'(> (max-drawdown "{s}" {{:window {self.window()}}}) {rng.randint(5, 25)})'
        if pick < 0.89:
            return (f'(> (exponential-moving-average-price "{s}" {{:window {self.window()}}}) '
                    f'(moving-average-price "{s}" {{:window {self.window()}}}))')
        if pick < 0.93:
            return f'(< (moving-average-return "{s}" {{:window {self.window()}}}) 0.{rng.randint(0, 9)})'
        if pick < 0.97:
            return f'(> (rsi "{s}" {{:window 10}}) (rsi "{self.ticker()}" {{:window 10}}))'
        return f'(> (percentage-price-oscillator "{s}" {{:short-window 12, :long-window 26}}) 0)'

    def assets(self, count: int) -> list[Tree]:
        return [("asset", self.ticker()) for _ in range(count)]

    def asset_filter(self) -> Tree:
        ranking = self.rng.choice(_RANKINGS)
        window = None if ranking == "current-price" else self.window(rsi=ranking == "rsi")
        return ("filter", ranking, window, self.rng.choice(("top", "bottom")), self.rng.choice((1, 1, 1, 2, 3)),
                self.assets(self.rng.randint(2, 6)))

    def inverse_vol(self) -> Tree:
        return ("invvol", self.rng.choice([w for w in (10, 20, 30, 45, 60, 90) if w <= self.shape.max_window] or [2]),
                self.assets(self.rng.randint(2, 4)))

    def group(self, body: Tree) -> Tree:
        self.groups += 1
        return ("group", f"Group {self.groups}", [("equal", [body])])

    def group_filter(self, inner: Tree | None = None) -> Tree:
        """A filter over 2-4 groups; the first holds `inner` (the next level of nesting) if given."""
        ranking = self.rng.choice(_GROUP_RANKINGS)
        bodies = [inner] if inner is not None else []
        while len(bodies) < self.rng.randint(2, 4):
            bodies.append(self.small_tree(self.rng.randint(0, 2)))
        return ("filter", ranking, self.window(rsi=ranking == "rsi"), self.rng.choice(("top", "bottom")), 1,
                [self.group(b) for b in bodies])

    def small_tree(self, depth: int, leaves: list[Tree] | None = None) -> Tree:
        """An if-tree `depth` deep whose leaves are taken from `leaves` first, then assets."""
        if depth <= 0:
            return leaves.pop() if leaves else ("asset", self.ticker())
        return ("if", self.condition(), [self.small_tree(depth - 1, leaves)], [self.small_tree(depth - 1, leaves)])

    def chain(self, length: int) -> Tree:
        """An else-if chain `length` deep: where real files get their nesting depth."""
        node: Tree = ("asset", self.ticker())
        for _ in range(length):
            node = ("if", self.condition(), [("asset", self.ticker())], [node])
        return node


def _features(b: _Builder, shape: Shape) -> list[Tree]:
    """The counted constructs of the shape, each a subtree to place at a leaf of the file."""
    out: list[Tree] = []
    nested: Tree | None = None
    for _ in range(shape.group_nesting):
        nested = b.group_filter(nested)
    if nested is not None:
        out.append(nested)
    out += [b.group_filter() for _ in range(shape.group_filters - shape.group_nesting)]
    out += [b.asset_filter() for _ in range(shape.filters - shape.group_filters)]
    out += [b.inverse_vol() for _ in range(shape.inverse_vol)]
    b.rng.shuffle(out)
    return out


def _block(b: _Builder, items: list[Tree]) -> Tree:
    kind = b.rng.random()
    if kind < 0.15 and len(items) == 2:
        return ("specified", ("0.6", "0.4"), items)
    body: Tree = ("equal", items) if len(items) > 1 else items[0]
    return b.group(body)


def build(shape: Shape, seed: int, names: Sequence[str] | None = None) -> tuple[Tree, _Builder]:
    rng = random.Random(seed)
    b = _Builder(shape, rng, list(names) if names is not None else tickers(shape.tickers))
    features = _features(b, shape)
    printer = _Printer("clj")
    blocks: list[Tree] = [b.group(b.chain(max(1, shape.depth - 4)))]
    used = printer.count(blocks[0])
    while features:
        leaves = [features.pop() for _ in range(min(len(features), rng.randint(1, 4)))]
        block = _block(b, [b.small_tree(rng.randint(1, 3), leaves), *([b.small_tree(1)] if rng.random() < 0.3 else [])])
        if leaves:
            block = _block(b, [block, *leaves])
        blocks.append(block)
        used += printer.count(block)
    while used < shape.lines - 8:
        block = _block(b, [b.small_tree(rng.randint(1, 4))])
        size = printer.count(block)
        if used + size > shape.lines - 4 and used > 0.9 * shape.lines:
            break
        blocks.append(block)
        used += size
    if b.unused:  # every ticker of the shape is held somewhere
        blocks.append(b.group(("equal", b.assets(len(b.unused)))))
    if not b.largest_used:
        blocks.append(b.group(("if", f'(> (current-price "{b.ticker()}") (moving-average-price "{b.ticker()}" '
                                     f"{{:window {shape.max_window}}}))", [("asset", b.ticker())],
                               [("asset", b.ticker())])))
    rng.shuffle(blocks)
    return ("equal", blocks), b


# ---------------------------------------------------------------------------------------- printing


class _Printer:
    """Composer's export layout: a form's head on its line, each argument on its own line one
    column in, a children vector opening on its first child's line."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def ticker(self, name: str) -> str:
        return f"EQUITIES::{name}//USD" if self.dialect in ("equities", "def") else name

    def text(self, fragment: str) -> str:
        if self.dialect == "clj":
            return fragment
        out, parts = [], fragment.split('"')
        for i, part in enumerate(parts):  # odd parts are the strings: tickers in a condition
            out.append(self.ticker(part) if i % 2 and part.startswith("S") and part[1:].isdigit() else part)
        return '"'.join(out)

    def count(self, node: Tree) -> int:
        return len(self.lines(node, 0))

    def vector(self, children: Sequence[Tree], indent: int) -> list[str]:
        lines: list[str] = []
        for child in children:
            lines += self.lines(child, indent + 1)
        lines[0] = " " * indent + "[" + lines[0][indent + 1 :]
        lines[-1] += "]"
        return lines

    def lines(self, node: Tree, indent: int) -> list[str]:
        pad = " " * indent
        kind = node[0]
        if kind == "asset":
            return [f'{pad}(asset "{self.ticker(node[1])}" nil)']
        if kind == "if":
            lines = [f"{pad}(if", f"{pad} {self.text(node[1])}", *self.vector(node[2], indent + 1),
                     *self.vector(node[3], indent + 1)]
        elif kind == "filter":
            _, ranking, window, side, count, children = node
            call = f"({ranking})" if window is None else f"({ranking} {{:window {window}}})"
            lines = [f"{pad}(filter", f"{pad} {call}", f"{pad} (select-{side} {count})",
                     *self.vector(children, indent + 1)]
        elif kind == "group":
            lines = [f"{pad}(group", f'{pad} "{node[1]}"', *self.vector(node[2], indent + 1)]
        elif kind == "equal":
            lines = [f"{pad}(weight-equal", *self.vector(node[1], indent + 1)]
        elif kind == "invvol":
            lines = [f"{pad}(weight-inverse-vol", f"{pad} {node[1]}", *self.vector(node[2], indent + 1)]
        else:  # specified
            lines = [f"{pad}(weight-specified"]
            if self.dialect == "def":
                lines += [f"{pad} [{' '.join(node[1])}]", *self.vector(node[2], indent + 1)]
            else:
                for weight, child in zip(node[1], node[2], strict=True):
                    lines += [f"{pad} {weight}", *self.lines(child, indent + 1)]
        lines[-1] += ")"
        return lines

    def file(self, name: str, body: Tree) -> str:
        header = ["defsymphony", f' "{name}"', ' {:asset-class "EQUITIES", :rebalance-frequency :daily}']
        lines = self.lines(body, 1)
        if self.dialect == "def":  # the editor's Def tab: no parentheses around the whole
            return "\n".join([header[0], *header[1:], *lines]) + "\n"
        return "\n".join(["(" + header[0], *header[1:], *lines]) + ")\n"


def write(shape: Shape, seed: int = 0, dialect: str = "clj", names: Sequence[str] | None = None) -> str:
    """A valid strategy of about `shape.lines` lines with the shape's measures (see `measure`), over
    the tickers `names` (default S000, S001, ...: `shape.tickers` of them)."""
    body, _ = build(shape, seed, names)
    return _Printer(dialect).file(f"Generated {shape.lines} lines, {shape.tickers} tickers, seed {seed}", body)


def corpus(files: int = 100, universe: int = 900, seed: int = 0) -> list[tuple[Shape, str]]:
    """`files` strategies shaped as `corpus_shapes`, over a shared universe of `universe` tickers
    (S000 ...): each file holds a few of the popular ones (the first 40, which most files use, as
    real symphonies share SPY and TQQQ) and the rest drawn from all of them; one file in five is
    written in each of Composer's other dialects."""
    rng = random.Random(seed)
    names = tickers(universe)
    popular = names[:40]
    out = []
    for i, shape in enumerate(corpus_shapes(files, seed)):
        count = min(shape.tickers, universe)
        head = rng.sample(popular, min(len(popular), max(1, count // 5)))
        rest = [n for n in rng.sample(names, min(universe, count * 2)) if n not in head][: count - len(head)]
        dialect = DIALECTS[1 + i % 2] if i % 5 == 0 else "clj"
        out.append((shape, write(shape, seed + i, dialect, sorted(head + rest))))
    return out


def generate(lines: int = 10_000, symbols: int = 200, seed: int = 0, dialect: str = "clj") -> str:
    """A strategy of about `lines` lines over the tickers S000.. (`symbols` of them), with the other
    measures those of a real file of that size (the table's quantile of `lines`), drawn with `seed`."""
    rng = random.Random(seed)
    size = _quantile_of_lines(lines)
    shape = shape_at(size, rng.random() * (1.0 if size > 0.5 else 0.9), rng.random())
    return write(_consistent(replace(shape, lines=lines, tickers=symbols, depth=min(shape.depth, max(3, lines // 4)))),
                 seed, dialect)


def _quantile_of_lines(lines: int) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if quantile("lines", mid) < lines else (lo, mid)
    return hi


# ---------------------------------------------------------------------------------------- measuring


def measure(symphony: Any, text: str | None = None) -> Shape:
    """The table's measures of a parsed strategy (lines: of `text`, when given)."""
    from services.strategy.language.nodes import Asset, Filter, WeightInverseVolatility, child_nodes

    depth = nest = filters = group_filters = inverse = largest = 0
    stack: list[tuple[Any, int, int]] = [(symphony.body, 1, 0)]
    while stack:
        node, level, groups = stack.pop()
        depth = max(depth, level)
        if isinstance(node, Filter):
            filters += 1
            largest = max(largest, *node.indicator.args, 0)
            if any(not isinstance(c, Asset) for c in node.children):
                group_filters += 1
                groups += 1
                nest = max(nest, groups)
        elif isinstance(node, WeightInverseVolatility):
            inverse += 1
            largest = max(largest, node.window)
        elif hasattr(node, "condition"):
            for side in (node.condition.left, node.condition.right):
                largest = max(largest, *getattr(side, "args", ()), 0)
        stack.extend((c, level + 1, groups) for c in child_nodes(node))
    return Shape(lines=text.count("\n") if text is not None else 0, depth=depth, filters=filters,
                 group_filters=group_filters, group_nesting=nest, max_window=largest,
                 tickers=len(symphony.symbols), inverse_vol=inverse)


SWITCH_TICKERS = ("TQQQ", "UGL", "BIL", "SOXL", "TLT", "UVXY", "SPXL", "GLD")
"""What single-asset Composer switchers hold: a leveraged ETF, gold, or T-bills (one at a time, 100%)."""
_SWITCH_WINDOWS = (5, 10, 14, 20, 50, 60, 100, 200)


class _Switcher:
    """The line writer the single-asset cases were first generated with, kept so that each seed gives
    the same switcher as before (tests/e2e/test_single_asset_symphonies.py relies on its seeds)."""

    def __init__(self, rng: random.Random, names: list[str]) -> None:
        self.rng, self.names = rng, names
        self.out: list[str] = []

    def line(self, depth: int, text: str) -> None:
        self.out.append(" " * depth + text)

    def window(self) -> int:
        return self.rng.choice(_SWITCH_WINDOWS)

    def condition(self) -> str:
        rng, s, w = self.rng, self.rng.choice(self.names), self.window()
        choices = (
            f'(> (current-price "{s}") (moving-average-price "{s}" {{:window {w}}}))',
            f'(> (rsi "{s}" {{:window {w}}}) {rng.randint(20, 80)})',
            f'(< (cumulative-return "{s}" {{:window {w}}}) {rng.randint(-10, 10)})',
            f'(> (stdev-return "{s}" {{:window {w}}}) {rng.choice(("1", "1.5", "2", "2.5"))})',
            f'(> (max-drawdown "{s}" {{:window {w}}}) {rng.randint(5, 20)})',
            f'(> (exponential-moving-average-price "{s}" {{:window {w}}}) (moving-average-price "{s}" {{:window 50}}))',
            f'(< (moving-average-return "{s}" {{:window {w}}}) 0.{rng.randint(0, 9)})',
            f'(< (stdev-price "{s}" {{:window 20}}) (stdev-price "{s}" {{:window 100}}))',
            f'(> (rsi "{s}" {{:window 10}}) (rsi "{self.rng.choice(self.names)}" {{:window 10}}))',
        )
        return rng.choice(choices)

    def chain(self, depth: int, length: int) -> None:
        """An else-if chain `length` deep over single assets."""
        for i in range(length):
            self.line(depth + i, f"(if {self.condition()}")
            self.line(depth + i + 1, "[")
            self.line(depth + i + 2, f'(asset "{self.rng.choice(self.names)}" nil)')
            self.line(depth + i + 1, "]")
            self.line(depth + i + 1, "[")
        self.line(depth + length + 1, f'(asset "{self.rng.choice(self.names)}" nil)')
        for i in range(length - 1, -1, -1):
            self.line(depth + i + 1, "]")
            self.line(depth + i, ")")


def single_asset(seed: int = 0, names: tuple[str, ...] = SWITCH_TICKERS) -> str:
    """A valid switcher that holds exactly one asset, 100%, every day ('TQQQ or BIL', a filter picking one
    ticker): nested `if`s (0 to 3 deep) over single assets, or a `select-top 1` filter."""
    rng = random.Random(seed)
    w = _Switcher(rng, list(names))
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
