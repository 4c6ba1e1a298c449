"""Helpers for end-to-end tests: the installed `alchemiser` command and the simulated broker's orders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import PROJECT_ROOT

ALCHEMISER = str(Path(sys.executable).parent / "alchemiser")


def alchemiser(*args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ALCHEMISER, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def alchemiser_json(*args: str) -> Any:
    result = alchemiser(*args, "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def broker_orders(state_dir: Path) -> list[Any]:
    from shared.venues.factory import make_broker
    from shared.venues.settings import BrokerSettings

    settings = BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(state_dir),
                                        "ALCHEMISER_AS_OF": "2026-11-25T16:00:00-05:00"})
    return list(make_broker(settings).list_orders())  # type: ignore[attr-defined]
