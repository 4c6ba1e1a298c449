"""One canonical ticker inside; Composer's, Yahoo's and CSV files' spellings at the edges."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.strategy.language import StrategyError, parse_text
from shared.marketdata.csv_files import CsvDirectoryMarketData
from shared.marketdata.port import MarketDataError
from shared.marketdata.symbols import SymbolError, alpaca, canonical, composer, csv_stems, yahoo


@pytest.mark.parametrize("written", ["BRK/B", "BRK.B", "BRK-B", "BRK_B", "brk/b", " BRK/B "])
def test_every_spelling_of_a_share_class_is_one_canonical_symbol(written):
    assert canonical(written) == "BRK.B"


def test_each_adapter_has_its_own_spelling():
    assert alpaca("BRK.B") == "BRK.B"
    assert yahoo("BRK.B") == "BRK-B"
    assert composer("BRK.B") == "BRK/B"
    assert csv_stems("BRK.B") == ("BRK.B", "BRK_B", "BRK-B")
    assert csv_stems("SPY") == ("SPY",)


@pytest.mark.parametrize("bad", ["", "BRK/B/C", "SP Y", "$SPY", "TOOLONGTICKER1"])
def test_what_is_no_symbol_is_refused(bad):
    with pytest.raises(SymbolError, match="invalid ticker"):
        canonical(bad)


def test_composers_brk_slash_b_parses_to_the_canonical_symbol():
    s = parse_text('(defsymphony "b" {} (weight-equal [(asset "BRK/B") (asset "EQUITIES::BF/B//USD")]))')
    assert s.symbols == ("BF.B", "BRK.B")


def test_a_bad_ticker_points_at_file_line_and_column():
    with pytest.raises(StrategyError) as info:
        parse_text('(defsymphony "b" {}\n  (asset "BRK/B/C"))', "t.clj")
    assert (info.value.line, info.value.column) == (2, 10)
    assert "invalid ticker 'BRK/B/C'" in info.value.message


@pytest.mark.parametrize("stem", ["BRK.B", "BRK_B", "BRK-B", "brk-b"])
def test_a_csv_directory_finds_the_file_under_any_spelling(tmp_path: Path, stem):
    (tmp_path / f"{stem}.csv").write_text("date,close\n2026-11-23,480.5\n2026-11-24,482.25\n")
    history = CsvDirectoryMarketData(tmp_path).history(["BRK.B"], date(2026, 11, 24), 5)
    assert history.closes["BRK.B"].tolist() == [480.5, 482.25]


def test_a_missing_csv_says_which_names_were_tried_and_how_to_get_data(tmp_path: Path):
    with pytest.raises(MarketDataError) as info:
        CsvDirectoryMarketData(tmp_path).history(["BRK.B"], date(2026, 11, 24), 5)
    text = str(info.value)
    assert "BRK.B.csv or BRK_B.csv or BRK-B.csv not found" in text
    assert "--data alpaca" in text and "date,close" in text
