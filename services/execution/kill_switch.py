"""The kill switch: `active` (trade), `reducing` (sells only), `halted` (no orders).

Read fresh by every plan execution (services/execution/plan_run.py), never cached, so flipping it
takes effect on the next plan. In AWS it is an SSM parameter (`ALCHEMISER_KILL_SWITCH_PARAMETER`)
read through Powertools Parameters with `max_age=0` and `force_fetch=True`
(KILL_SWITCH_MAX_AGE_SECONDS); locally the file `<state_dir>/kill-switch` (no file: active).
Anything we cannot read or do not understand — a missing parameter, an access error, an empty file,
a typo — fails closed as `halted`, and the reading says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shared.events.trade_executed import KillSwitchState

STATES: tuple[KillSwitchState, ...] = ("active", "reducing", "halted")
KILL_SWITCH_MAX_AGE_SECONDS = 0
"""The kill switch is never served from a cache: every read is a GetParameter call."""


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


class FileKillSwitch:
    """Local mode: the first line of a file; a missing file means active."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> KillSwitchReading:
        source = f"file {self.path}"
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return KillSwitchReading("active", source, None)
        except (OSError, UnicodeDecodeError) as exc:
            return halted(source, f"unreadable ({type(exc).__name__}: {exc})")
        lines = text.splitlines()
        return parse(lines[0] if lines else "", source)


class SsmKillSwitch:
    """AWS: an SSM String parameter, read with Powertools' SSMProvider on every call (no cache)."""

    def __init__(self, parameter_name: str, client: Any = None) -> None:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        self.parameter_name = parameter_name
        if client is None:
            from shared.runtime import aws_clients

            client = aws_clients.client("ssm")
        self.provider = SSMProvider(boto3_client=client)

    def read(self) -> KillSwitchReading:
        source = f"SSM parameter {self.parameter_name}"
        try:
            value = self.provider.get(self.parameter_name, max_age=KILL_SWITCH_MAX_AGE_SECONDS, force_fetch=True)
        except Exception as exc:  # not found, access denied, throttled, network: all fail closed
            cause = exc.__cause__ or exc.__context__ or exc  # Powertools wraps the boto3 error
            return halted(source, f"unreadable ({type(cause).__name__}: {str(cause)[:200]})")
        if not isinstance(value, str):
            return halted(source, f"unexpected value type {type(value).__name__}")
        return parse(value, source)


class UnconfiguredKillSwitch:
    """AWS without ALCHEMISER_KILL_SWITCH_PARAMETER: nothing says trading is allowed, so it is not."""

    def read(self) -> KillSwitchReading:
        return halted("configuration", "ALCHEMISER_KILL_SWITCH_PARAMETER is not set")
