"""The state dir lock, the recovery of a killed run's leftovers, run records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from alchemiser.local.statedir import (
    StateDirBusy,
    current_workflow_id,
    exclusive,
    read_run_record,
    release_in_progress,
    retries_recorded,
    write_run_record,
)
from shared.runtime.sqlite_store import SqliteTable


def test_a_second_holder_is_told_which_pid_holds_the_state_dir(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from alchemiser.local.statedir import exclusive
        with exclusive(__import__('pathlib').Path({str(tmp_path)!r})):
            print('held', flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StateDirBusy) as caught, exclusive(tmp_path, wait=0.3):
            pass
        assert caught.value.pid == holder.pid
        assert f"another alchemiser run (pid {holder.pid}) holds the state dir" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
    with exclusive(tmp_path):  # the kernel released the dead holder's lock
        assert (tmp_path / "lock").read_text().strip() == str(os.getpid())


def test_in_progress_idempotency_records_are_released_and_completed_ones_kept(tmp_path):
    table = SqliteTable(tmp_path / "state.sqlite", "idempotency")
    table.put("plan#1", {"status": "INPROGRESS", "expiration": 9e12, "in_progress_expiration": 9e15})
    table.put("plan#2", {"status": "COMPLETED", "expiration": 9e12, "data": "{}"})
    assert release_in_progress(tmp_path) == 1
    assert table.get("plan#1") is None and table.get("plan#2") is not None


def test_run_records_and_the_day_s_latest_retry(tmp_path):
    write_run_record(tmp_path, "run-2026-11-25-paper", {"broker": "sim", "data": "offline"})
    write_run_record(tmp_path, "run-2026-11-25-paper", {"broker": "alpaca", "data": "alpaca"})  # kept as first written
    assert read_run_record(tmp_path, "run-2026-11-25-paper") == {"broker": "sim", "data": "offline"}
    assert current_workflow_id(tmp_path, "run-2026-11-25-paper") == "run-2026-11-25-paper"
    for n in (1, 2, 10):
        write_run_record(tmp_path, f"run-2026-11-25-paper-retry-{n}", {"broker": "sim"})
    assert retries_recorded(tmp_path, "run-2026-11-25-paper")[-1] == "run-2026-11-25-paper-retry-10"
    assert current_workflow_id(tmp_path, "run-2026-11-25-paper") == "run-2026-11-25-paper-retry-10"
    (tmp_path / "runs" / "broken.json").write_text("{")
    assert read_run_record(tmp_path, "broken") is None
    assert json.loads((tmp_path / "runs" / "run-2026-11-25-paper.json").read_text())["broker"] == "sim"
