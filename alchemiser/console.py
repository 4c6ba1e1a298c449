"""Tables, colour and a progress bar for people, from rich (the CLI's optional dependency, `[cli]`).

- `table(columns, rows)`: aligned columns under a ruled header, as lines to print (weights, plans, orders,
  metrics, positions). Without rich: the same columns, aligned by hand, no colour.
- Colour only on a terminal: never when the output is piped or redirected, never with NO_COLOR set (any value,
  no-color.org), always with FORCE_COLOR; `styled(text, style)` colours a word the same way. JSON outputs never
  pass through here: they stay byte for byte what `json.dumps` wrote.
- `Progress`: the backtest's progress (commands/backtest.py passes it as the engine's callback).

rich is imported on first use, never at import time: `alchemiser --help` stays fast.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False
    """Numbers are right-aligned."""
    style: str | None = None


@dataclass(frozen=True)
class Cell:
    """A cell with its own style (a side, a status), e.g. Cell("BUY", "green")."""

    text: str
    style: str | None = None


def has_rich() -> bool:
    return importlib.util.find_spec("rich") is not None


def colour(stream: TextIO | None = None) -> bool:
    """Whether to colour what goes to `stream` (stdout by default): a terminal, no NO_COLOR, or FORCE_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


def _console(buffer: TextIO, paint: bool) -> Any:
    from rich.console import Console

    return Console(file=buffer, width=100_000, color_system="standard" if paint else None, force_terminal=paint,
                   no_color=not paint, markup=False, emoji=False, highlight=False, soft_wrap=False)


def styled(text: str, style: str | None, stream: TextIO | None = None) -> str:
    """`text` in `style` (rich's names: "bold", "red", "green", "yellow"...) when colouring, else as is."""
    if not style or not colour(stream) or not has_rich():
        return text
    from rich.text import Text

    buffer = io.StringIO()
    _console(buffer, True).print(Text(text, style=style), end="")
    return buffer.getvalue()


def _text(cell: str | Cell) -> str:
    return cell.text if isinstance(cell, Cell) else cell


def table(columns: Sequence[Column], rows: Sequence[Sequence[str | Cell]], *, indent: int = 2,
          stream: TextIO | None = None) -> list[str]:
    """The rows under their headers, aligned, as lines (each indented by `indent` spaces)."""
    lines = _rich_table(columns, rows, colour(stream)) if has_rich() else _plain_table(columns, rows)
    return [" " * indent + line if line else line for line in lines]


def _rich_table(columns: Sequence[Column], rows: Sequence[Sequence[str | Cell]], paint: bool) -> list[str]:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0),
                 header_style="bold" if paint else "")
    for column in columns:
        grid.add_column(column.header, justify="right" if column.right else "left", style=column.style,
                        no_wrap=True)
    for row in rows:
        grid.add_row(*(Text(c.text, style=c.style or "") if isinstance(c, Cell) else Text(c) for c in row))
    buffer = io.StringIO()
    _console(buffer, paint).print(grid)
    return [line.rstrip() for line in buffer.getvalue().splitlines()]


def _plain_table(columns: Sequence[Column], rows: Sequence[Sequence[str | Cell]]) -> list[str]:
    widths = [max([len(c.header), *(len(_text(r[i])) for r in rows)]) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(text.rjust(w) if c.right else text.ljust(w)
                         for text, w, c in zip(cells, widths, columns, strict=True)).rstrip()

    return [line([c.header for c in columns]), "─" * (sum(widths) + 2 * (len(widths) - 1)),
            *(line([_text(c) for c in row]) for row in rows)]


class Progress:
    """Progress of `total_steps` steps in phases ("evaluate", "simulate", "strategy x"), on stderr.

    On a terminal (with rich): one bar with the phase, the share done, a labelled ETA and the elapsed time.
    Elsewhere (a log, a pipe): a line per tenth of the work, "evaluate: day 120/1254 (10%), elapsed 0.4s, ETA
    3.1s". `finish()` ends at 100% with the elapsed time in both."""

    def __init__(self, total_steps: int, stream: TextIO | None = None, *, tty: bool | None = None,
                 label: str = "backtest") -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) if tty is None else tty
        self.total = max(1, total_steps)
        self.label = label
        self.done_before = 0
        self.steps = 0
        self.started = time.monotonic()
        self.last_shown = -1
        self.phase = ""
        self._phase_total = 0
        self.first_timed: tuple[int, float] | None = None
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            if self.phase:
                self.done_before += self._phase_total
            self.phase, self._phase_total = phase, total
        self.steps = min(self.total, self.done_before + done)
        if self.tty and has_rich():
            self._draw(phase)
            return
        elapsed = time.monotonic() - self.started
        tenth = self.steps * 10 // self.total
        if tenth != self.last_shown or done == total:
            self.last_shown = tenth
            print(f"{phase}: day {done}/{total} ({self.steps * 100 // self.total}%), elapsed {elapsed:.1f}s, "
                  f"ETA {self._eta(elapsed)}", file=self.stream, flush=True)

    def _eta(self, elapsed: float) -> str:
        # the first steps carry the imports and the first data reads: no ETA from them
        rate_from = self.first_timed
        if rate_from is None and self.steps >= 3:
            self.first_timed = rate_from = (self.steps, elapsed)
        if rate_from is None or self.steps <= rate_from[0]:
            return "…"
        per_step = (elapsed - rate_from[1]) / (self.steps - rate_from[0])
        return f"{per_step * (self.total - self.steps):.1f}s"

    def _draw(self, phase: str) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            console = Console(file=self.stream, force_terminal=True, no_color=not colour(self.stream),
                              color_system="standard" if colour(self.stream) else None, highlight=False)
            self._bar = Bar(TextColumn("{task.description:<24}"), BarColumn(), TaskProgressColumn(),
                            TextColumn("ETA {task.fields[eta]}"), TextColumn("elapsed"), TimeElapsedColumn(),
                            console=console, transient=False, refresh_per_second=8)
            self._bar.start()
            self._task = self._bar.add_task(phase, total=self.total, eta="…")
        eta = self._eta(time.monotonic() - self.started)
        self._bar.update(self._task, completed=self.steps, description=phase, eta=eta)

    def finish(self) -> None:
        """The work is done: 100% and the elapsed time (whatever the phases counted)."""
        self.steps = self.total
        elapsed = time.monotonic() - self.started
        if self._bar is not None:
            self._bar.update(self._task, completed=self.total, description=self.label, eta="0.0s")
            self._bar.stop()
            self._bar = None
        print(f"{self.label}: 100% done, elapsed {elapsed:.1f}s", file=self.stream, flush=True)
