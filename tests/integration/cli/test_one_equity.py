"""One equity figure: `status` and `pnl` on the same state dir agree, and each says what it measures."""

from __future__ import annotations

import json
from decimal import Decimal

from alchemiser import cli


def _json(capsys, *argv: str):
    code = cli.main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_status_and_pnl_give_the_same_equity_after_a_day(tmp_path, capsys):
    state = ["--state-dir", str(tmp_path)]
    assert _json(capsys, "run", "--as-of", "2026-11-25", *state)[0] == 0
    _, status = _json(capsys, "status", *state)
    _, pnl = _json(capsys, "pnl", "--as-of", "2026-11-25T18:00:00-05:00", *state)
    assert Decimal(status["account"]["equity"]) == Decimal(pnl["end_equity"])
    assert status["account"]["valued_at"] == {"date": "2026-11-25", "prices": "close", "data": "offline"}
    assert sum(Decimal(p["market_value"]) for p in status["account"]["positions"]) + \
        Decimal(status["account"]["cash"]) == Decimal(status["account"]["equity"])
    cli.main(["status", *state])
    text = capsys.readouterr().out
    assert f"equity ${Decimal(pnl['end_equity']):,.2f} at the 2026-11-25 close" in text
