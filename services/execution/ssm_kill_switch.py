"""The kill switch in AWS: an SSM String parameter, never cached (kill_switch.py)."""

from __future__ import annotations

from typing import Any

from services.execution.kill_switch import KillSwitchReading, halted, parse
from shared.runtime.aws_clients import given_or_shared

KILL_SWITCH_MAX_AGE_SECONDS = 0
"""The kill switch is never served from a cache: every read is a GetParameter call."""


class SsmKillSwitch:
    """AWS: an SSM String parameter, read with Powertools' SSMProvider on every call (no cache)."""

    def __init__(self, parameter_name: str, client: Any = None) -> None:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        self.parameter_name = parameter_name
        client = given_or_shared("ssm", client)
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
