"""Configuration: one pydantic model per function, read from the environment at the edge.

Every setting `foo_bar` is read from `ALCHEMISER_FOO_BAR`. Nothing below a handler reads the
environment; handlers build their settings once per invocation (cheap) so a local runtime can
change the clock (`ALCHEMISER_AS_OF`) or the state directory between invocations.

A plain BaseModel rather than pydantic-settings: the latter adds ~60 ms to every cold start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

ENV_PREFIX = "ALCHEMISER_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


class CommonSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = "dev"
    trading_mode: Literal["paper", "live"] = "paper"
    backend: Literal["aws", "local"] = "aws"
    """`local`: embedded stores and the local bus under `state_dir` instead of AWS services."""
    event_bus_name: str = "alchemiser-trading-events-dev"
    state_dir: Path = Path(".alchemiser")
    as_of: AwareDatetime | None = None
    """The clock handlers see. Unset: the real time."""
    idempotency_table: str | None = None

    @property
    def local(self) -> bool:
        return self.backend == "local"

    def now(self) -> datetime:
        return self.as_of.astimezone(UTC) if self.as_of is not None else datetime.now(UTC)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            values[name] = json.loads(raw) if raw[:1] in "[{" else raw
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise SettingsError(f"invalid configuration: {problems}") from exc
