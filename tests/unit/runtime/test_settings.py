"""Settings come from ALCHEMISER_* variables with clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.runtime.settings import CommonSettings, SettingsError


def test_defaults_are_paper_on_aws():
    s = CommonSettings.from_env({})
    assert (s.trading_mode, s.backend, s.stage, s.local) == ("paper", "aws", "dev", False)


def test_values_are_read_from_prefixed_variables():
    s = CommonSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": "/tmp/x",
                                 "ALCHEMISER_AS_OF": "2026-11-25T09:35:00-05:00", "UNRELATED": "1"})
    assert s.local and s.state_dir == Path("/tmp/x")
    assert s.now() == datetime(2026, 11, 25, 14, 35, tzinfo=UTC)


def test_a_bad_value_names_the_variable():
    with pytest.raises(SettingsError, match="ALCHEMISER_TRADING_MODE"):
        CommonSettings.from_env({"ALCHEMISER_TRADING_MODE": "yolo"})
    with pytest.raises(SettingsError, match="ALCHEMISER_AS_OF"):
        CommonSettings.from_env({"ALCHEMISER_AS_OF": "2026-11-25T09:35:00"})
