"""Loading the strategy portfolio: exact allocations that sum to 1, every file parsed, clear errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from services.strategy.language import StrategyError
from services.strategy.portfolio_config import PortfolioConfigError, load_portfolio

SHIPPED = Path(__file__).resolve().parents[3] / "services" / "strategy" / "strategies" / "portfolio.toml"


def _write(tmp_path: Path, toml: str, strategies: dict[str, str] | None = None) -> Path:
    for name, body in (strategies or {"a.clj": '(asset "SPY")', "b.clj": '(asset "TLT")'}).items():
        (tmp_path / name).write_text(f'(defsymphony "{name}" {{}}\n  {body})')
    path = tmp_path / "portfolio.toml"
    path.write_text(toml)
    return path


TWO = """
[[strategy]]
name = "a"
file = "a.clj"
allocation = "0.7"

[[strategy]]
name = "b"
file = "b.clj"
allocation = 0.3
"""


def test_shipped_portfolio_loads_and_allocates_exactly_one() -> None:
    portfolio = load_portfolio(SHIPPED)
    assert [e.name for e in portfolio.strategies] == ["leveraged-trend", "momentum-rotation", "risk-parity"]
    assert sum(e.allocation for e in portfolio.strategies) == Decimal(1)
    assert "SPY" in portfolio.symbols and portfolio.lookback_days >= 200


def test_allocations_are_exact_decimals_from_strings_and_numbers(tmp_path: Path) -> None:
    portfolio = load_portfolio(_write(tmp_path, TWO))
    assert [e.allocation for e in portfolio.strategies] == [Decimal("0.7"), Decimal("0.3")]
    assert all(type(e.allocation) is Decimal for e in portfolio.strategies)
    assert portfolio.strategies[0].file == (tmp_path / "a.clj").resolve()
    assert portfolio.strategies[0].symphony.symbols == ("SPY",)
    assert portfolio.symbols == ("SPY", "TLT")


def test_allocations_that_do_not_sum_to_one_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO.replace("0.3", "0.2"))
    with pytest.raises(PortfolioConfigError) as info:
        load_portfolio(path)
    assert str(info.value) == f"{path}: allocations must sum to 1, but 0.7 + 0.2 = 0.9"


def test_float_noise_cannot_sneak_in_because_numbers_are_read_as_decimal(tmp_path: Path) -> None:
    toml = TWO.replace('"0.7"', "0.1").replace("0.3", "0.9")
    assert sum(e.allocation for e in load_portfolio(_write(tmp_path, toml)).strategies) == 1


@pytest.mark.parametrize(
    ("change", "wording"),
    [
        (('allocation = "0.7"', 'allocation = "seventy"'), "strategy 'a': allocation 'seventy' is not a number"),
        (('allocation = "0.7"', "allocation = true"), "strategy 'a': allocation must be a number"),
        (('allocation = "0.7"', 'allocation = "1.7"'), "allocation must be greater than 0 and at most 1, got 1.7"),
        (('allocation = "0.7"', 'allocation = "-0.7"'), "allocation must be greater than 0"),
        (('name = "b"', 'name = "a"'), "strategy 'a' is listed twice"),
        (('file = "b.clj"', 'file = "missing.clj"'), "strategy 'b': strategy file 'missing.clj' not found"),
        (('allocation = "0.7"', 'alocation = "0.7"'), "[[strategy]] #1: unknown key(s) alocation"),
        (('name = "b"\n', ""), "[[strategy]] #2: missing name"),
        (('[[strategy]]\nname = "a"', '[strategy]\nname = "a"'), "invalid TOML"),
    ],
)
def test_mistakes_in_the_portfolio_file_are_named(tmp_path: Path, change: tuple[str, str], wording: str) -> None:
    path = _write(tmp_path, TWO.replace(*change, 1))
    with pytest.raises(PortfolioConfigError) as info:
        load_portfolio(path)
    assert str(info.value).startswith(f"{path}: ")
    assert wording in str(info.value)


def test_empty_or_unknown_tables_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(PortfolioConfigError, match="no strategies"):
        load_portfolio(_write(tmp_path, ""))
    with pytest.raises(PortfolioConfigError, match=r"unknown top-level key\(s\) strategies"):
        load_portfolio(_write(tmp_path, "[[strategies]]\nname = 'a'\n"))
    with pytest.raises(PortfolioConfigError, match="cannot read the portfolio file"):
        load_portfolio(tmp_path / "nope.toml")


def test_a_typo_in_a_strategy_file_surfaces_as_a_located_strategy_error(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO, {"a.clj": '(asset "SPY")', "b.clj": '(weight-equl [(asset "TLT")])'})
    with pytest.raises(StrategyError) as info:
        load_portfolio(path)
    assert info.value.file == str((tmp_path / "b.clj").resolve())
    assert (info.value.line, info.value.column) == (2, 4)


def test_broken_strategy_files_can_be_collected_while_the_others_load(tmp_path):
    from services.strategy.portfolio_config import BrokenStrategy

    (tmp_path / "good.clj").write_text('(defsymphony "g" {} (asset "SPY"))\n')
    (tmp_path / "bad.clj").write_text('(defsymphony "b" {} (asset "SPY")))\n')
    toml = tmp_path / "p.toml"
    toml.write_text('[[strategy]]\nname = "good"\nfile = "good.clj"\nallocation = "0.5"\n'
                    '[[strategy]]\nname = "bad"\nfile = "bad.clj"\nallocation = "0.5"\n')
    with pytest.raises(StrategyError):
        load_portfolio(toml)
    broken: list[BrokenStrategy] = []
    portfolio = load_portfolio(toml, broken=broken)
    assert [e.name for e in portfolio.strategies] == ["good"]
    assert [(b.name, b.error.line, b.error.column) for b in broken] == [("bad", 1, 35)]
