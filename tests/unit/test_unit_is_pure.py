"""tests/unit answers in seconds: no moto, no subprocess, no server. Such tests live in tests/integration."""

from __future__ import annotations

import re
from pathlib import Path

UNIT = Path(__file__).resolve().parent
FORBIDDEN = re.compile(r"^\s*(from|import)\s+(moto|subprocess|multiprocessing|http\.server)\b"
                       r"|mock_aws|running_fake_alpaca|aws_from_template|sys\.executable", re.MULTILINE)


def test_no_unit_test_starts_moto_a_process_or_a_server():
    offenders = {}
    for path in sorted(UNIT.rglob("*.py")):
        if path == Path(__file__).resolve():
            continue
        found = FORBIDDEN.search(path.read_text())
        if found:
            offenders[str(path.relative_to(UNIT))] = found.group(0).strip()
    assert not offenders, f"move these to tests/integration (same subfolder): {offenders}"
