"""The backtest's progress on stderr: days done, elapsed, ETA; a line per tenth when not a terminal."""

from __future__ import annotations

import io
import re

from alchemiser.commands.backtest import Progress


def test_a_line_per_tenth_with_days_elapsed_and_eta():
    stream = io.StringIO()
    progress = Progress(200, stream)
    for day in range(1, 101):
        progress("evaluate", day, 100)
    for day in range(1, 101):
        progress("simulate", day, 100)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("evaluate: day 1/100, elapsed ") and lines[0].endswith("ETA …")
    assert lines[-1].startswith("simulate: day 100/100") and lines[-1].endswith("ETA 0.0s")
    assert 10 <= len(lines) <= 25  # a line per tenth of the whole run, not one per day
    assert all(re.fullmatch(r"(evaluate|simulate): day \d+/100, elapsed [\d.]+s, ETA (…|[\d.]+s)", line)
               for line in lines)
