"""StrategyError: every problem a user can cause in a strategy file, located as path:line:col."""

from __future__ import annotations


class StrategyError(ValueError):
    """A mistake in (or an unevaluable) strategy; `str(e) == f"{file}:{line}:{column}: {message}"`."""

    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"{file}:{line}:{column}: {message}")

    def __reduce__(self) -> tuple[type[StrategyError], tuple[str, int, int, str]]:
        return (StrategyError, (self.file, self.line, self.column, self.message))
