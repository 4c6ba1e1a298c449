"""CsvDirectoryMarketData: the two accepted layouts, clear errors, alignment."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from shared.marketdata.csv_files import CsvDirectoryMarketData, CsvFormatError
from shared.marketdata.port import MarketDataError

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,472.16,473.67,470.49,472.65,466.66,123623700
2024-01-03,470.43,471.19,468.17,468.79,462.85,103585900
2024-01-04,468.30,470.96,467.05,467.28,461.36,84232200
2024-01-05,467.49,470.44,466.43,467.92,461.99,86060800
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_reads_simple_date_close_files(tmp_path: Path) -> None:
    write(tmp_path, "BIL.csv", "date,close\n2024-01-03,91.52\n2024-01-02,91.50\n2024-01-04,91.53\n")
    history = CsvDirectoryMarketData(tmp_path).history(["BIL"], date(2024, 1, 31), 10)
    assert list(history.dates.astype(str)) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert list(history.closes["BIL"]) == [91.50, 91.52, 91.53]


def test_reads_yahoo_files_preferring_adj_close(tmp_path: Path) -> None:
    write(tmp_path, "SPY.csv", YAHOO)
    history = CsvDirectoryMarketData(tmp_path).history(["SPY"], date(2024, 1, 5), 2)
    assert list(history.dates.astype(str)) == ["2024-01-04", "2024-01-05"]
    assert list(history.closes["SPY"]) == [461.36, 461.99]


def test_reads_close_when_there_is_no_adj_close_and_datetime_dates(tmp_path: Path) -> None:
    write(
        tmp_path,
        "QQQ.csv",
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-02 00:00:00-05:00,1,1,1,402.5,10\n2024-01-03 00:00:00-05:00,1,1,1,396.3,10\n",
    )
    history = CsvDirectoryMarketData(tmp_path).history(["QQQ"], date(2024, 1, 3), 5)
    assert list(history.closes["QQQ"]) == [402.5, 396.3]


def test_skips_yahoo_null_rows(tmp_path: Path) -> None:
    write(tmp_path, "GLD.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,1,1,190,190,5\n"
          "2024-01-03,null,null,null,null,null,null\n2024-01-04,1,1,1,191,191,5\n")  # fmt: skip
    history = CsvDirectoryMarketData(tmp_path).history(["GLD"], date(2024, 1, 4), 5)
    assert list(history.dates.astype(str)) == ["2024-01-02", "2024-01-04"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2024-01-04,abc", "close 'abc' is not a number"),
        ("2024/01/04,470.0", "date '2024/01/04' is not YYYY-MM-DD"),
        ("2024-01-04", "expected 2 columns"),
        ("2024-01-04,-5", "must be a positive number"),
        ("2024-01-04,inf", "must be a positive number"),
        ("2024-01-03,470.0", "appears more than once"),
        ("2024-02-30,470.0", "is not YYYY-MM-DD"),
    ],
)
def test_malformed_row_error_names_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, "SPY.csv", f"date,close\n2024-01-02,472.65\n2024-01-03,468.79\n{row}\n")
    with pytest.raises(CsvFormatError) as error:
        CsvDirectoryMarketData(tmp_path).history(["SPY"], date(2024, 1, 31), 5)
    assert f"{path}:4:" in str(error.value)
    assert message in str(error.value)
    assert isinstance(error.value, MarketDataError)


def test_header_without_close_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "SPY.csv", "date,price\n2024-01-02,472.65\n")
    with pytest.raises(CsvFormatError, match=f"{path}:1: header has no 'close'"):
        CsvDirectoryMarketData(tmp_path).history(["SPY"], date(2024, 1, 31), 5)


def test_missing_file_names_symbol_and_directory(tmp_path: Path) -> None:
    write(tmp_path, "SPY.csv", YAHOO)
    with pytest.raises(MarketDataError) as error:
        CsvDirectoryMarketData(tmp_path).history(["SPY", "TQQQ"], date(2024, 1, 5), 2)
    assert "TQQQ" in str(error.value) and str(tmp_path) in str(error.value)
    with pytest.raises(MarketDataError, match="does not exist"):
        CsvDirectoryMarketData(tmp_path / "nope").history(["SPY"], date(2024, 1, 5), 2)


def test_symbols_are_aligned_on_the_union_of_dates(tmp_path: Path) -> None:
    write(tmp_path, "OLD.csv", "date,close\n2024-01-02,10\n2024-01-03,11\n2024-01-05,12\n")  # no bar on 01-04
    write(tmp_path, "NEW.csv", "date,close\n2024-01-04,50\n2024-01-05,51\n2024-01-08,52\n")
    history = CsvDirectoryMarketData(tmp_path).history(["OLD", "NEW"], date(2024, 1, 5), 10)
    assert list(history.dates.astype(str)) == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    assert list(history.closes["OLD"]) == [10, 11, 11, 12]  # carried over the missing bar
    assert np.isnan(history.closes["NEW"][:2]).all()  # NaN before its first bar
    assert list(history.closes["NEW"][2:]) == [50, 51]  # never past `end`


def test_a_symbol_with_no_data_on_or_before_end_raises(tmp_path: Path) -> None:
    write(tmp_path, "NEW.csv", "date,close\n2024-01-04,50\n")
    with pytest.raises(MarketDataError, match="NEW"):
        CsvDirectoryMarketData(tmp_path).history(["NEW"], date(2024, 1, 3), 10)


def test_rereads_a_file_that_changed(tmp_path: Path) -> None:
    path = write(tmp_path, "BIL.csv", "date,close\n2024-01-02,91.50\n")
    data = CsvDirectoryMarketData(tmp_path)
    assert data.history(["BIL"], date(2024, 1, 31), 5).closes["BIL"][-1] == 91.50
    path.write_text("date,close\n2024-01-02,91.50\n2024-01-03,91.55\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert data.history(["BIL"], date(2024, 1, 31), 5).closes["BIL"][-1] == 91.55


def test_closes_between_is_inclusive(tmp_path: Path) -> None:
    write(tmp_path, "SPY.csv", YAHOO)
    closes = CsvDirectoryMarketData(tmp_path).closes_between(["SPY"], date(2024, 1, 3), date(2024, 1, 4))["SPY"]
    assert list(closes.dates.astype(str)) == ["2024-01-03", "2024-01-04"]


def test_the_column_fast_path_and_the_row_reader_agree(tmp_path):
    import numpy as np

    from shared.marketdata.csv_files import _parse_fast, _parse_rows

    layouts = {
        "plain.csv": "date,close\n2024-01-03,11.5\n2024-01-02,10.25\n2024-01-04,12\n",
        "yahoo.csv": "Date,Open,High,Low,Close,Adj Close,Volume\n"
                     "2024-01-02,1,2,0.5,1.5,1.4,100\n2024-01-03,1,2,0.5,1.6,1.55,100\n",
        "nulls.csv": "date,close\n2024-01-02,10\n2024-01-03,null\n2024-01-04,\n2024-01-05,11\n",
        "times.csv": "date,close\n2024-01-02 00:00:00-05:00,10\n2024-01-03 00:00:00-05:00,11\n",
    }
    for name, text in layouts.items():
        path = tmp_path / name
        path.write_text(text)
        rows = _parse_rows(path)
        fast = _parse_fast(path)
        if fast is not None:
            assert np.array_equal(fast.dates, rows.dates) and np.array_equal(fast.values, rows.values), name
    assert _parse_fast(tmp_path / "plain.csv") is not None  # the common layouts do take the fast path
    assert _parse_fast(tmp_path / "yahoo.csv") is not None
    assert _parse_fast(tmp_path / "nulls.csv") is None  # missing values: the row reader decides
    duplicate = tmp_path / "dup.csv"
    duplicate.write_text("date,close\n2024-01-02,10\n2024-01-02,11\n")
    assert _parse_fast(duplicate) is None
