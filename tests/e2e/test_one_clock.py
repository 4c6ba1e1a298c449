"""One clock in the output: every human message of a session of commands is in New York time, to the second.

The functions' messages carry ISO UTC times (events are for machines); what the command shows must not: a
user read "market closed at 2026-11-27T08:00:00.915642+00:00". JSON outputs keep ISO UTC on purpose."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import PROJECT_ROOT, TEST_EVENTS
from tests.e2e.conftest import ALCHEMISER

# an ISO time with microseconds, a time with a UTC offset or Z, a bare 'UTC'
MACHINE_TIME = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+|\d{2}:\d{2}(?::\d{2})?(?:Z\b|[+-]\d{2}:\d{2})|\bUTC\b")

SESSION = [
    ["run", "--as-of", "2026-11-25T03:00:00-05:00"],   # skipped before the open: the execution's clock message
    ["run", "--as-of", "2026-11-25T03:00:00-05:00"],   # its rerun: the recorded reason again
    ["run", "--as-of", "2026-11-25", "--retry"],
    ["status"],
    ["pnl", "--as-of", "2026-11-25T18:00:00-05:00"],
    ["plan", "--as-of", "2026-11-26T10:00:00-05:00"],  # Thanksgiving: "closed all day at ..."
    ["plan", "--as-of", "2026-11-27T10:00:00-05:00"],
    ["signals", "--as-of", "2026-11-25"],
    ["kill-switch"],
    ["send", "--source", "alchemiser.strategy", "--detail-type", "SignalGenerated", "--detail",
     str(TEST_EVENTS / "signal-generated.json"), "--as-of", "2026-11-25T09:40:00-05:00"],
    ["dlq", "list"],
    ["replay", "--from", "2026-11-25", "--to", "2026-11-25"],
    ["invoke", "strategy", "--event", str(TEST_EVENTS / "direct-trade-event.json"), "--as-of",
     "2026-11-27T08:00:00-05:00"],
    ["backtest", "--from", "2026-10-01", "--to", "2026-11-25", "--no-attribution"],
]


def test_no_command_of_a_session_shows_a_machine_time(tmp_path):
    offending = []
    for argv in SESSION:
        done = subprocess.run([ALCHEMISER, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)})
        assert "Traceback" not in done.stderr, (argv, done.stderr[-2000:])
        for line in (done.stdout + done.stderr).splitlines():
            if MACHINE_TIME.search(line):
                offending.append(f"{argv[0]}: {line.strip()[:300]}")
    assert offending == [], "\n".join(offending)


def test_the_pattern_sees_what_users_saw():
    assert MACHINE_TIME.search("market closed at 2026-11-27T08:00:00.915642+00:00")
    assert MACHINE_TIME.search("started 2026-12-07 14:35:00Z;") and MACHINE_TIME.search("at 09:35-05:00")
    assert not MACHINE_TIME.search("market closed at 2026-11-27 03:00:00 ET (next open 2026-11-27 09:30:00 ET)")
