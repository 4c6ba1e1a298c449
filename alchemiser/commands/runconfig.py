"""Which broker and market data a replay or redrive uses: the ones the workflow ran with.

`alchemiser run` records them when it starts a workflow (`<state>/runs/<correlation id>.json`).
A replay or redrive reads the records of every workflow it touches: they must agree, and explicit
`--broker`/`--data` flags must match them. With no record it refuses unless both flags are given.
Never a silent fall-back to the simulated broker after a day traded on Alpaca.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alchemiser.commands.common import UsageError, data_arg


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", choices=("sim", "alpaca"),
                        help="the broker to use; must match what the workflow ran with (default: the recorded one)")
    parser.add_argument("--data", type=data_arg, metavar="offline|alpaca|DIR",
                        help="the market data to use; must match what the workflow ran with "
                             "(default: the recorded one)")


def correlation_ids(envelopes: Iterable[dict[str, Any]]) -> set[str]:
    found = set()
    for envelope in envelopes:
        detail = envelope.get("detail") if isinstance(envelope, dict) else None
        if isinstance(detail, dict) and isinstance(detail.get("correlation_id"), str):
            found.add(detail["correlation_id"])
    return found


def resolve(state_dir: Path, workflows: set[str], broker: str | None, data: str | None) -> tuple[str, str]:
    """(broker, data) for these workflows, or UsageError saying why it cannot be told."""
    from alchemiser.local.statedir import read_run_record

    recorded = {}
    for workflow in sorted(workflows):
        record = read_run_record(state_dir, workflow)
        if record is not None:
            recorded[workflow] = (str(record.get("broker")), str(record.get("data")))
    configs = set(recorded.values())
    if len(configs) > 1:
        listed = "; ".join(f"{w}: broker {b}, data {d}" for w, (b, d) in recorded.items())
        raise UsageError(f"these events belong to workflows run with different brokers or data ({listed}); "
                         "replay them one workflow at a time")
    if not configs:
        if broker is None or data is None:
            which = ", ".join(sorted(workflows)) or "these events"
            raise UsageError(f"no run record says which broker and data {which} ran with; "
                             "give both --broker and --data")
        return broker, data
    (rec_broker, rec_data), = configs
    for flag, given, want in (("--broker", broker, rec_broker), ("--data", data, rec_data)):
        if given is not None and given != want:
            raise UsageError(f"{flag} {given} does not match the recorded {want} of {', '.join(sorted(recorded))}")
    return rec_broker, rec_data


def runtime_env(broker: str, data: str) -> dict[str, str]:
    """The handlers' environment for this configuration (Alpaca keys from the environment)."""
    from alchemiser.commands.run import alpaca_keys_from_env
    from alchemiser.local.day import DayOptions
    from alchemiser.local.day import runtime_env as day_env

    keys = alpaca_keys_from_env()
    if "alpaca" in (broker, data) and keys is None:
        raise UsageError("this workflow ran on Alpaca: set APCA_API_KEY_ID and APCA_API_SECRET_KEY to use it again")
    return day_env(DayOptions(Path("."), broker=broker, data=data, alpaca_keys=keys))


def announce(broker: str, data: str, *, json_mode: bool) -> None:
    name = "Alpaca paper" if broker == "alpaca" else "the simulated broker"
    print(f"using broker {broker} ({name}), data {data}", file=sys.stderr if json_mode else sys.stdout, flush=True)
