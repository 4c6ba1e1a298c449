"""The backtest's progress on stderr: a bar with a labelled ETA on a terminal, a line per tenth elsewhere; both
end at 100% with the elapsed time."""

from __future__ import annotations

import io
import re

from alchemiser.console import Progress

COLOUR = re.compile(r"\x1b\[[0-9;]*[0-9]m")  # an SGR sequence that sets a colour or a weight


def _run(progress: Progress) -> None:
    for phase in ("evaluate", "simulate"):
        for day in range(1, 101):
            progress(phase, day, 100)
    progress.finish()


def test_a_line_per_tenth_with_days_share_elapsed_and_eta_then_100_percent():
    stream = io.StringIO()
    _run(Progress(200, stream))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("evaluate: day 1/100 (0%), elapsed ") and lines[0].endswith("ETA …")
    assert lines[-2].startswith("simulate: day 100/100 (100%)") and lines[-2].endswith("ETA 0.0s")
    assert re.fullmatch(r"backtest: 100% done, elapsed [\d.]+s", lines[-1])
    assert 10 <= len(lines) <= 26  # a line per tenth of the whole run, not one per day
    assert all(re.fullmatch(r"(evaluate|simulate): day \d+/100 \(\d+%\), elapsed [\d.]+s, ETA (…|[\d.]+s)", line)
               for line in lines[:-1])
    assert not COLOUR.search(stream.getvalue())


def test_on_a_terminal_a_bar_with_a_labelled_eta_that_ends_at_100_percent(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    stream = io.StringIO()
    progress = Progress(200, stream, tty=True)
    _run(progress)
    out = stream.getvalue()
    assert "ETA" in out and "elapsed" in out and "━" in out  # the bar
    assert "100%" in out and re.search(r"backtest: 100% done, elapsed [\d.]+s\n$", out)
    assert COLOUR.search(out)


def test_no_color_draws_the_bar_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    stream = io.StringIO()
    _run(Progress(200, stream, tty=True))
    out = stream.getvalue()
    assert "100%" in out and not COLOUR.search(out)


def test_the_finish_line_says_100_percent_even_when_the_phases_counted_fewer_steps():
    stream = io.StringIO()
    progress = Progress(500, stream)
    progress("evaluate", 100, 100)
    progress.finish()
    assert stream.getvalue().splitlines()[-1].startswith("backtest: 100% done, elapsed")
