"""Seed the system's positions record (shared/broker/positions_record.py): shares a test says the system bought.

Without it the plan leaves a position alone unless a strategy targets it (services/portfolio/managed.py), as it
does with shares a user bought by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from shared.broker.positions_record import Record, SqlitePositionsRecord

FAKE_ALPACA_ACCOUNT = "PA0000FAKE"
"""The account number tests/fakes/fake_alpaca.py answers (the account id the broker adapter reads)."""


def bought_by_system(state_dir: Path, account_id: str, held: dict[str, str | int | Decimal]) -> None:
    """Record `held` (symbol -> shares) as the system's, in the state dir's embedded store."""
    shares = {s: Decimal(str(q)) for s, q in held.items()}
    SqlitePositionsRecord(Path(state_dir) / "state.sqlite").update(
        account_id, lambda old: Record({**(old.held if old else {}), **shares}, old.pending if old else {}))
