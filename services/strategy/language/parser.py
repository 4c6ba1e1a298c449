"""parse_text / parse_file: strategy source to Symphony, or a StrategyError saying where and why."""

from __future__ import annotations

from pathlib import Path

from services.strategy.language.errors import StrategyError
from services.strategy.language.forms import build_symphony
from services.strategy.language.reader import locate, read_forms
from services.strategy.language.symphony import Symphony


def parse_text(text: str, filename: str = "<string>") -> Symphony:
    """A `.clj` symphony, or Composer's JSON score (text that is a JSON object), as a Symphony."""
    from services.strategy.language.composer_json import looks_like_score, parse_score
    from services.strategy.language.quick import Unusual, quick_parse

    text = text.removeprefix("\ufeff")
    if looks_like_score(text):
        return parse_score(text, filename)
    try:
        return quick_parse(text, filename)
    except Unusual:
        return build_symphony(read_forms(text, filename), filename)


def slow_parse(text: str, filename: str = "<string>") -> Symphony:
    """parse_text without its fast path (tests compare the two)."""
    return build_symphony(read_forms(text.removeprefix("\ufeff"), filename), filename)


def parse_file(path: str | Path) -> Symphony:
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise StrategyError(name, 1, 1, f"cannot read the strategy file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8", errors="replace")
        line, column = locate(prefix + "?", len(prefix))
        raise StrategyError(name, line, column, "the file is not valid UTF-8 text") from None
    return parse_text(text, name)
