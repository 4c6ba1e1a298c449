"""Syntax errors name file, line and column and say what was expected; never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.strategy.language import StrategyError, evaluate, parse_file, parse_text
from tests.unit.strategy.language.conftest import error_of, random_history


def test_strategy_error_is_a_value_error_printed_as_path_line_col_message() -> None:
    exc = StrategyError("a.clj", 3, 7, "boom")
    assert isinstance(exc, ValueError)
    assert str(exc) == "a.clj:3:7: boom"
    assert (exc.file, exc.line, exc.column, exc.message) == ("a.clj", 3, 7, "boom")


def test_unclosed_bracket_points_at_the_opener_and_expects_the_closer() -> None:
    exc = error_of('(defsymphony "x" {}\n  (weight-equal [(asset "SPY")]')
    assert (exc.file, exc.line, exc.column) == ("bad.clj", 2, 3)
    assert exc.message == "'(' is never closed: expected ')' before the end of the file"


def test_extra_closing_bracket_is_reported_where_it_stands() -> None:
    exc = error_of('(defsymphony "x" {} (asset "SPY")))')
    assert (exc.line, exc.column) == (1, 35)
    assert "unexpected ')': there is no open bracket to close" in exc.message


def test_mismatched_bracket_names_the_expected_closer_and_the_opener() -> None:
    exc = error_of('(defsymphony "x" {}\n (weight-equal [(asset "SPY")))')
    assert (exc.line, exc.column) == (2, 30)
    assert exc.message == "expected ']' to close '[' opened at 2:16, found ')'"


def test_unterminated_string_points_at_its_opening_quote() -> None:
    exc = error_of('(defsymphony "x" {}\n  (asset "SPY))')
    assert (exc.line, exc.column) == (2, 10)
    assert "unterminated string" in exc.message


def test_unexpected_character_is_named() -> None:
    exc = error_of('(defsymphony "x" {} #_(asset "SPY") (asset "QQQ"))')
    assert (exc.line, exc.column) == (1, 21)
    assert "unexpected character '#'" in exc.message


def test_malformed_number_is_a_bad_token() -> None:
    exc = error_of('(defsymphony "x" {}\n (if (> (rsi "SPY" {:window 1O}) 70) [(asset "A")] [(asset "B")]))')
    assert (exc.line, exc.column) == (2, 29)
    assert exc.message.startswith("invalid number '1O'")


def test_unknown_string_escape_points_at_the_backslash() -> None:
    exc = error_of('(defsymphony "x\\q" {} (asset "SPY"))')
    assert (exc.line, exc.column) == (1, 16)
    assert "unknown escape '\\q'" in exc.message


def test_map_with_odd_number_of_forms_is_rejected() -> None:
    exc = error_of('(defsymphony "x" {:rebalance-threshold} (asset "SPY"))')
    assert (exc.line, exc.column) == (1, 18)
    assert "odd number of forms" in exc.message


def test_columns_count_characters_after_crlf_line_ends_and_multiline_strings() -> None:
    exc = error_of('(defsymphony "x\nsecond line" {}\r\n  (asset "SPY")\r\n  )) ')
    assert (exc.line, exc.column) == (4, 4)


def test_empty_file_expects_a_defsymphony() -> None:
    exc = error_of("  ; nothing here\n")
    assert (exc.line, exc.column) == (1, 1)
    assert "expected (defsymphony" in exc.message


def test_parse_file_reports_unreadable_and_non_utf8_files(tmp_path: pytest.TempPathFactory) -> None:
    missing = tmp_path / "missing.clj"  # type: ignore[operator]
    with pytest.raises(StrategyError) as info:
        parse_file(missing)
    assert info.value.file == str(missing) and "cannot read the strategy file" in info.value.message
    bad = tmp_path / "latin1.clj"  # type: ignore[operator]
    bad.write_bytes(b'(defsymphony "x" {}\n (asset "\xe9"))')
    with pytest.raises(StrategyError) as info:
        parse_file(bad)
    assert (info.value.line, info.value.column) == (2, 10)
    assert "not valid UTF-8" in info.value.message


def test_parse_file_names_the_file_in_errors(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "typo.clj"  # type: ignore[operator]
    path.write_text('(defsymphony "x" {}\n  (weight-equl [(asset "SPY")]))')
    with pytest.raises(StrategyError) as info:
        parse_file(path)
    assert str(info.value).startswith(f"{path}:2:4: unknown form 'weight-equl'")


def test_garbage_never_raises_anything_but_strategy_error() -> None:
    for text in [
        "(",
        ")",
        "[}",
        '"',
        "(defsymphony",
        "(defsymphony 1 2 3)",
        "{:a}",
        '(defsymphony "x" {} [])',
        '(defsymphony "x" {} (asset))',
        '(defsymphony "x" {} ((asset "A")))',
        "nil",
        "#",
    ]:
        with pytest.raises(StrategyError):
            parse_text(text)


def test_numbers_beyond_exact_decimal_range_are_rejected() -> None:
    exc = error_of('(defsymphony "x" {}\n (if (> (rsi "A" 2) 1e999999999) [(asset "A")] [(asset "B")]))')
    assert (exc.line, exc.column) == (2, 21)
    assert exc.message.startswith("number '1e999999999' is out of range")


_SOURCE = """(defsymphony "TQQQ or not" {:asset-class "EQUITIES", :rebalance-threshold 0.05}
  (weight-equal
    [(if (> (current-price "SPY") (moving-average-price "SPY" {:window 20}))
       [(if (> (rsi "QQQ" {:window 10}) 79)
          [(asset "SPY" "name")]
          [(weight-specified 0.6 (asset "QQQ" nil) 0.4 [(asset "SPY" nil)])])]
       [(filter (rsi {:window 7}) (select-bottom 2)
          [(asset "SPY" nil) (weight-inverse-volatility 5 [(asset "QQQ") (asset "SPY")])
           (group "Both" [(weight-equal [(asset "QQQ" nil) (asset "SPY" nil)])])])])]))"""
_PIECES = st.sampled_from(
    [
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        '"',
        ":window",
        "nil",
        "1e9",
        "-3",
        "0.5",
        "asset",
        "(filter",
        "(group",
        "(if",
        "(>",
        "rsi",
        "weight-equal",
        " ",
        "\n",
        ";",
        "\\",
        "#",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_SOURCE)), st.integers(0, 12), _PIECES), min_size=1, max_size=4))
def test_mutated_strategies_raise_only_strategy_errors(edits: list[tuple[int, int, str]]) -> None:
    text = _SOURCE
    for at, cut, piece in edits:
        text = text[:at] + piece + text[at + cut :]
    try:
        symphony = parse_text(text, "fuzz.clj")
        evaluate(symphony, random_history(["SPY", "QQQ"], 60))
    except StrategyError as exc:
        assert exc.file == "fuzz.clj" and exc.line >= 1 and exc.column >= 1
