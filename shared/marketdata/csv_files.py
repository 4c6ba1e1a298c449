"""CsvDirectoryMarketData: a directory of `SYMBOL.csv` files a user drops in.

Accepted layouts (header row required, column names case-insensitive, extra columns ignored):
- `date,close`
- Yahoo Finance: `Date,Open,High,Low,Close,Adj Close,Volume` (Adj Close preferred over Close).
Dates are `YYYY-MM-DD`, optionally followed by a time (`2024-01-02 00:00:00-05:00`, as some
exporters write; the date part is used). Rows whose price is `null` or empty (Yahoo writes these
for days it has no data) are skipped; any other malformed row is an error naming file and line.
Files are parsed once and re-read when they change on disk.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from shared.marketdata.port import MarketDataError, PriceHistory
from shared.marketdata.series import Closes, assemble, unique_symbols
from shared.marketdata.symbols import csv_stems

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T].*)?$")
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$")
_MISSING = {"", "null", "nan", "na", "n/a"}


CSV_LAYOUT = ("a directory of SYMBOL.csv files (BRK.B: BRK.B.csv, BRK_B.csv or BRK-B.csv), each with a "
              "header row and the columns date,close (YYYY-MM-DD, adjusted close; extra columns ignored) "
              "or a Yahoo Finance export (Date,...,Adj Close,...)")
HOW_TO_GET_DATA = (f"for real data use --data alpaca (with APCA_API_KEY_ID and APCA_API_SECRET_KEY) "
                   f"or --data DIR: {CSV_LAYOUT}")
"""What every "no data" error says (the offline source and the CSV directory alike)."""


class CsvFormatError(MarketDataError):
    """A CSV file that cannot be read; the message names file and line."""


@dataclass(frozen=True)
class _Parsed:
    stamp: tuple[int, int]
    closes: Closes


def _columns(header: list[str], where: str) -> tuple[int, int]:
    names = [name.strip().lower().lstrip("\ufeff") for name in header]
    if "date" not in names:
        raise CsvFormatError(f"{where}: header has no 'date' column (got {','.join(header)})")
    for wanted in ("adj close", "adj_close", "adjclose", "close"):
        if wanted in names:
            return names.index("date"), names.index(wanted)
    raise CsvFormatError(f"{where}: header has no 'close' or 'adj close' column (got {','.join(header)})")


def parse_csv(path: Path) -> Closes:
    """Read one file; raise CsvFormatError naming `path:line` for anything malformed.

    A fast path (numpy over whole columns) reads the common, well-formed file; anything it is not
    sure of (quotes, short rows, odd dates, bad or duplicate values) goes to the row-by-row reader,
    which gives the same answer or the error naming the line."""
    fast = _parse_fast(path)
    return fast if fast is not None else _parse_rows(path)


def _parse_fast(path: Path) -> Closes | None:
    """Whole columns at once (no Python loop per row), or None to let the row reader decide."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if '"' in text or "\r" in text:
        return None
    head, _, body = text.partition("\n")
    if " " in body or "\t" in body:  # times after dates, padded cells: the row reader
        return None
    header = head.split(",")
    try:
        date_col, close_col = _columns(header, f"{path}:1")
    except CsvFormatError:
        return None
    body = body.rstrip("\n")
    if not body or "\n\n" in body:
        return None
    width = len(header)
    cells = body.replace("\n", ",").split(",")
    rows = body.count("\n") + 1
    if len(cells) != width * rows:
        return None
    # a missing close ("", null, n/a) fails float() and nan fails isfinite: the row reader skips those rows
    try:
        dates = np.array(cells[date_col::width], dtype="datetime64[D]")
        values = np.array(list(map(float, cells[close_col::width])), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if np.isnat(dates).any() or not (np.isfinite(values).all() and (values > 0).all()):
        return None
    if dates.size > 1 and not (dates[1:] > dates[:-1]).all():
        order = np.argsort(dates, kind="stable")
        dates, values = dates[order], values[order]
        if (dates[1:] == dates[:-1]).any():
            return None
    return Closes(dates, values)


def _parse_rows(path: Path) -> Closes:
    pairs: dict[date, float] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise CsvFormatError(f"{path}:1: empty file (expected a header such as 'date,close')")
        date_col, close_col = _columns(header, f"{path}:1")
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) <= max(date_col, close_col):
                raise CsvFormatError(
                    f"{path}:{line}: expected {len(header)} columns, got {len(row)}: {','.join(row)!r}"
                )
            day = _parse_date(row[date_col].strip(), f"{path}:{line}")
            text = row[close_col].strip()
            if text.lower() in _MISSING:
                continue
            try:
                close = float(text)
            except ValueError:
                raise CsvFormatError(f"{path}:{line}: close {text!r} is not a number") from None
            if not math.isfinite(close) or close <= 0:
                raise CsvFormatError(f"{path}:{line}: close {text!r} must be a positive number")
            if day in pairs:
                raise CsvFormatError(f"{path}:{line}: date {day.isoformat()} appears more than once")
            pairs[day] = close
    return Closes.from_pairs(pairs.items())


def _parse_date(text: str, where: str) -> date:
    match = _DATE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise CsvFormatError(f"{where}: date {text!r} is not YYYY-MM-DD") from None


class CsvDirectoryMarketData:
    """MarketData (and RangeMarketData) over `directory/SYMBOL.csv` files."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._parsed: dict[Path, _Parsed] = {}

    def __repr__(self) -> str:
        return f"CsvDirectoryMarketData({str(self.directory)!r})"

    def _path(self, symbol: str) -> Path:
        if not _SYMBOL.match(symbol):
            raise MarketDataError(f"invalid symbol {symbol!r}")
        stems = csv_stems(symbol)
        for stem in stems:
            for name in (f"{stem}.csv", f"{stem.upper()}.csv", f"{stem.lower()}.csv"):
                candidate = self.directory / name
                if candidate.is_file():
                    return candidate
        if not self.directory.is_dir():
            raise MarketDataError(f"no data for {symbol}: CSV directory {self.directory} does not exist; "
                                  f"{HOW_TO_GET_DATA}")
        tried = " or ".join(f"{stem}.csv" for stem in stems)
        raise MarketDataError(f"no data for {symbol}: {tried} not found in {self.directory}; {HOW_TO_GET_DATA}")

    def load(self, symbol: str) -> Closes:
        path = self._path(symbol)
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._parsed.get(path)
        if cached is None or cached.stamp != stamp:
            cached = _Parsed(stamp, parse_csv(path))
            self._parsed[path] = cached
        if not len(cached.closes):
            raise MarketDataError(f"no data for {symbol}: {path} has no price rows")
        return cached.closes

    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        wanted = unique_symbols(symbols)
        return assemble({s: self.load(s) for s in wanted}, end, lookback_days)

    def closes_between(self, symbols: Sequence[str], start: date, end: date) -> dict[str, Closes]:
        return {s: self.load(s).between(start, end) for s in unique_symbols(symbols)}
