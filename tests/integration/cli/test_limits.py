"""`alchemiser limits`: each effective limit and where it came from, locally and for a deployed stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alchemiser import cli


def _limits(capsys, *argv: str) -> tuple[int, dict, str]:
    code = cli.main(["limits", *argv, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out else {}), out.err


def portfolio(tmp_path: Path, limits: str) -> Path:
    (tmp_path / "a.clj").write_text('(defsymphony "a" {} (asset "SPY"))\n')
    path = tmp_path / "portfolio.toml"
    path.write_text(f'[[strategy]]\nname = "a"\nfile = "a.clj"\nallocation = "1"\n\n[limits]\n{limits}')
    return path


def test_the_defaults_of_the_shipped_portfolio(capsys, monkeypatch):
    monkeypatch.delenv("ALCHEMISER_MAX_POSITION_WEIGHT", raising=False)
    code, body, _ = _limits(capsys)
    assert code == 0
    assert body["limits"]["max_position_weight"] == {"value": "1", "text": "100%", "source": "default"}
    assert body["limits"]["max_orders_per_run"]["value"] == 500


def test_file_then_environment_then_flag_each_with_its_source(tmp_path, capsys, monkeypatch):
    config = portfolio(tmp_path, "max_position_weight = 0.75\nmax_orders_per_run = 20\n")
    monkeypatch.setenv("ALCHEMISER_MAX_ORDERS_PER_RUN", "30")
    code, body, _ = _limits(capsys, "--config", str(config), "--position-cap", "clip")
    assert code == 0
    limits = body["limits"]
    assert limits["max_position_weight"]["source"].endswith("portfolio.toml:7")
    assert (limits["max_orders_per_run"]["value"], limits["max_orders_per_run"]["source"]) == (
        30, "ALCHEMISER_MAX_ORDERS_PER_RUN")
    assert limits["position_cap"] == {"value": "clip", "text": "clip", "source": "--position-cap"}


def test_a_stage_reads_the_file_then_its_template_parameters_not_the_shell(tmp_path, capsys, monkeypatch):
    config = portfolio(tmp_path, "max_position_weight = 0.75\n")
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text('version = 0.1\n[dev.deploy.parameters]\nstack_name = "alchemiser-dev"\n'
                         'parameter_overrides = "Stage=dev MaxPositionWeight=0.5 MaxPriceMove="\n')
    monkeypatch.setenv("ALCHEMISER_MAX_ORDERS_PER_RUN", "30")  # the deployed functions never see it
    code, body, _ = _limits(capsys, "--config", str(config), "--stage", "dev", "--samconfig", str(samconfig))
    assert code == 0
    assert body["limits"]["max_position_weight"]["value"] == "0.5"
    source = body["limits"]["max_position_weight"]["source"]
    assert source == f"template parameter MaxPositionWeight ({samconfig} [dev])"
    assert body["limits"]["max_orders_per_run"]["source"] == "default"
    assert body["limits"]["max_price_move"]["source"] == "default"  # an empty parameter: not set


@pytest.mark.parametrize("line,where", [
    ("max_position_weight = -1", "portfolio.toml:7: [limits] max_position_weight = -1: must be greater than 0"),
    ("max_position_weight = nan", "portfolio.toml:7: [limits] max_position_weight = NaN: must be a finite number"),
    ('max_position_weight = "1.2"', 'portfolio.toml:7: [limits] max_position_weight = "1.2": is a weight'),
])
def test_an_out_of_range_value_is_exit_2_naming_the_key_and_file_line(tmp_path, capsys, line, where):
    code, _, err = _limits(capsys, "--config", str(portfolio(tmp_path, line + "\n")))
    assert code == 2 and where in err


def test_a_bad_flag_or_variable_is_exit_2_naming_it(capsys, monkeypatch):
    with pytest.raises(SystemExit) as done:
        cli.main(["limits", "--max-position-weight", "2"])
    assert done.value.code == 2 and "--max-position-weight: 2: is a weight" in capsys.readouterr().err
    monkeypatch.setenv("ALCHEMISER_MAX_PRICE_MOVE", "-0.1")
    code, _, err = _limits(capsys)
    assert code == 2 and "ALCHEMISER_MAX_PRICE_MOVE: -0.1: must be greater than 0" in err


def test_the_text_says_why_each_default_is_what_it_is(capsys):
    assert cli.main(["limits"]) == 0
    out = capsys.readouterr().out
    assert "max_position_weight" in out and "default because: 1: a symphony may hold 100% of one asset" in out


def test_signals_says_what_the_position_cap_would_do_to_the_days_weights(tmp_path, capsys):
    strategy = tmp_path / "ugl.clj"
    strategy.write_text('(defsymphony "ugl" {} (asset "UGL"))\n')
    assert cli.main(["signals", "--strategy", str(strategy), "--as-of", "2026-11-25",
                     "--max-position-weight", "0.75"]) == 0
    out = capsys.readouterr().out
    assert "Limits (as the run would apply them):" in out
    assert "max_position_weight (75%): UGL's target 100% is above it: the run would place nothing" in out
    assert cli.main(["signals", "--strategy", str(strategy), "--as-of", "2026-11-25", "--json",
                     "--max-position-weight", "0.75", "--position-cap", "clip", "--cash-symbol", "BIL"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["limits"]["max_position_weight"] == "0.75"
    assert body["limit_notes"][0].startswith("max_position_weight (75%): UGL clipped from 100% to 75%; 25% to BIL")


def test_the_shells_limit_reaches_a_local_function_through_the_template(tmp_path, monkeypatch):
    """The template's empty default for a limit must not hide ALCHEMISER_<KEY> (it did: the value was ignored)."""
    from alchemiser.local.runtime import LocalRuntime

    monkeypatch.setenv("ALCHEMISER_MAX_POSITION_WEIGHT", "0.6")
    runtime = LocalRuntime(tmp_path)
    spec = runtime.template.function_for("strategy")
    assert spec.environment["ALCHEMISER_MAX_POSITION_WEIGHT"] == ""
    assert runtime.function_env(spec)["ALCHEMISER_MAX_POSITION_WEIGHT"] == "0.6"
