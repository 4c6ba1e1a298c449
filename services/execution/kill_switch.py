"""The kill switch: `active` (trade), `reducing` (sells only), `halted` (no orders).

Read fresh by every plan execution (services/execution/plan_run.py), never cached, so flipping it
takes effect on the next plan. In AWS it is an SSM parameter (`ALCHEMISER_KILL_SWITCH_PARAMETER`)
read through Powertools Parameters with `max_age=0` and `force_fetch=True`
(ssm_kill_switch.py); locally the file `<state_dir>/kill-switch` (no file: active; file_kill_switch.py).
This module is the port, its readings and the fail-closed rules the adapters share.
Anything we cannot read or do not understand — a missing parameter, an access error, an empty file,
a typo — fails closed as `halted`, and the reading says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.events.trade_executed import KillSwitchState

STATES: tuple[KillSwitchState, ...] = ("active", "reducing", "halted")


@dataclass(frozen=True)
class KillSwitchReading:
    state: KillSwitchState
    source: str
    detail: str | None = None
    """Why the state is what it is when it was not read cleanly (fail-closed cases)."""

    def describe(self) -> str:
        text = f"kill switch {self.state} ({self.source})"
        return f"{text}: {self.detail}" if self.detail else text


class KillSwitch(Protocol):
    def read(self) -> KillSwitchReading: ...


def parse(raw: str, source: str) -> KillSwitchReading:
    """The state a raw value names; anything else is `halted`, saying what was found."""
    value = raw.strip().lower()
    for state in STATES:
        if value == state:
            return KillSwitchReading(state, source)
    return KillSwitchReading(
        "halted", source, f"unknown value {raw.strip()[:40]!r} (expected one of {', '.join(STATES)}); failing closed"
    )


def halted(source: str, why: str) -> KillSwitchReading:
    return KillSwitchReading("halted", source, f"{why}; failing closed")


class UnconfiguredKillSwitch:
    """AWS without ALCHEMISER_KILL_SWITCH_PARAMETER: nothing says trading is allowed, so it is not."""

    def read(self) -> KillSwitchReading:
        return halted("configuration", "ALCHEMISER_KILL_SWITCH_PARAMETER is not set")
