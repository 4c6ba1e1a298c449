"""A limit set in the portfolio file reaches the deployed functions.

The stack moto's CloudFormation created from infra/template.yaml (conftest.py): each function's handler runs
in this process with the environment the stack gave that function (read back from moto's Lambda), against the
deployed table and bus (AWS_ENDPOINT_URL: the moto server) and the fake Alpaca (keys from the stage's secret).
moto runs no Lambda code, so each hop is handed on as the stack's rules deliver it: the Invoke payload moto's
EventBridge sent to the next function. The strategy function reads the portfolio file (a copy of the shipped
one with `[limits]`), the limits travel with the signal and the plan, and the execution function refuses the
plan naming the limit and the file's line; with `position_cap = "clip"` the plan is clipped instead.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alchemiser.local.runtime import environment
from tests.conftest import PROJECT_ROOT, LambdaContextStub
from tests.fakes.fake_alpaca import FakeAlpaca, running_fake_alpaca
from tests.integration.deploy.conftest import FAKE_AWS_ENV
from tests.integration.deploy.stack import Deployment

pytestmark = pytest.mark.timeout(180)

AS_OF = datetime(2026, 11, 25, 14, 35, tzinfo=UTC)  # 09:35 New York, a Wednesday
SHIPPED = PROJECT_ROOT / "services" / "strategy" / "strategies"


def deployed_environment(deployment: Deployment, service: str) -> dict[str, str]:
    name = f"alchemiser-{service}-{deployment.stage}"
    config = deployment.client("lambda").get_function_configuration(FunctionName=name)
    return dict(config.get("Environment", {}).get("Variables", {}))


@pytest.fixture
def alpaca(deployment: Deployment) -> Iterator[FakeAlpaca]:
    with running_fake_alpaca() as fake:
        fake.set_clock(open=True, timestamp=AS_OF.replace(minute=36))
        secrets = deployment.client("secretsmanager")
        name = f"alchemiser/{deployment.stage}/alpaca"
        with contextlib.suppress(secrets.exceptions.ResourceNotFoundException):
            secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        secrets.create_secret(Name=name, SecretString=json.dumps({"api_key": fake.api_key,
                                                                  "secret_key": "fake-secret"}))
        yield fake


def portfolio_with(folder: Path, limits: str) -> Path:
    """The shipped portfolio (its strategies, its allocations), with a [limits] table added."""
    for source in SHIPPED.glob("*"):
        shutil.copy(source, folder / source.name)
    path = folder / "portfolio.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[limits]\n" + limits, encoding="utf-8")
    return path


def invoke(deployment: Deployment, service: str, event: dict[str, Any], alpaca: FakeAlpaca,
           **extra: str) -> dict[str, Any]:
    """The function's handler as Lambda runs it: its deployed environment (and `extra`), a fresh container."""
    import importlib

    from shared.runtime import aws_clients

    env = {**deployed_environment(deployment, service), **FAKE_AWS_ENV, "AWS_ENDPOINT_URL": deployment.endpoint,
           "ALCHEMISER_ALPACA_TRADING_URL": alpaca.url, "ALCHEMISER_ALPACA_DATA_URL": alpaca.url, **extra}
    handler = importlib.import_module(f"services.{service}.handler")
    importlib.import_module(f"services.{service}.dependencies").clear_cache()
    aws_clients.clear()
    with environment(env):
        response: dict[str, Any] = handler.lambda_handler(event, LambdaContextStub())
    aws_clients.clear()
    return response


def delivered_to(deployment: Deployment, calls: list[dict[str, Any]], service: str, detail_type: str) -> dict[str, Any]:
    """The one event the stack's rules delivered to `service` (moto's recorded asynchronous Invoke; the
    orchestrator gets TradeExecuted through two rules, by design: the same event twice)."""
    name = f"alchemiser-{service}-{deployment.stage}"
    found = [json.loads(c["payload"]) for c in calls if c["function"].endswith(f":function:{name}")]
    [event] = {e["id"]: e for e in found if e.get("detail-type") == detail_type}.values()
    return event


def run_the_day(deployment: Deployment, calls: list[dict[str, Any]], alpaca: FakeAlpaca, config: Path,
                correlation_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(the signal, the plan, the execution's report) of one day through the deployed functions."""
    from services.strategy.portfolio_config import load_portfolio

    for symbol in load_portfolio(config).symbols:  # what the fake broker knows: every symbol the strategies read
        if symbol not in alpaca.assets:
            alpaca.add_asset(symbol)
            alpaca.set_price(symbol, "100")
    calls.clear()
    command = {"version": "0", "id": f"schedule-{correlation_id}", "detail-type": "Scheduled Event",
               "source": "aws.scheduler", "account": "123456789012", "time": AS_OF.isoformat(),
               "region": "us-east-1", "resources": [], "detail": {"mode": "trade", "correlation_id": correlation_id}}
    started = invoke(deployment, "strategy", command, alpaca, ALCHEMISER_STRATEGY_CONFIG=str(config),
                     ALCHEMISER_MARKET_DATA="offline", ALCHEMISER_AS_OF=AS_OF.isoformat())
    assert started["status"] == "success", started
    signal = delivered_to(deployment, calls, "portfolio", "SignalGenerated")
    planned = invoke(deployment, "portfolio", signal, alpaca)
    assert planned["status"] == "success", planned
    plan = delivered_to(deployment, calls, "execution", "RebalancePlanned")
    invoke(deployment, "execution", plan, alpaca)
    report = delivered_to(deployment, calls, "orchestrator", "TradeExecuted")
    return signal["detail"], plan["detail"], report["detail"]


def test_the_limits_parameters_sit_on_the_strategy_function_empty_unless_the_stage_sets_them(
        deployment: Deployment) -> None:
    strategy = deployed_environment(deployment, "strategy")
    assert strategy.get("ALCHEMISER_MAX_POSITION_WEIGHT", "") == ""  # the portfolio file's value, else the default
    for service in ("portfolio", "execution"):
        assert not [k for k in deployed_environment(deployment, service) if k.startswith("ALCHEMISER_MAX_")]


def test_a_cap_in_the_portfolio_file_refuses_the_plan_in_the_deployed_execution_function(
        deployment: Deployment, lambda_invocations: list[dict[str, Any]], alpaca: FakeAlpaca, tmp_path: Path) -> None:
    config = portfolio_with(tmp_path, "max_order_equity_fraction = 0.2\n")
    line = config.read_text().splitlines().index("max_order_equity_fraction = 0.2") + 1
    signal, plan, report = run_the_day(deployment, lambda_invocations, alpaca, config, "run-limits-refuse")
    assert signal["limits"]["max_order_equity_fraction"] == "0.2"
    assert signal["limits"]["sources"]["max_order_equity_fraction"].endswith(f"portfolio.toml:{line}")
    assert plan["limits"] == signal["limits"]
    assert (report["success"], report["status"]) == (False, "rejected")
    [binding] = report["limit_bindings"]
    assert binding["limit"] == "max_order_equity_fraction" and f"portfolio.toml:{line}" in binding["change"]
    assert alpaca.requests_to("POST /v2/orders") == []


def test_clip_mode_in_the_portfolio_file_clips_the_plan_of_the_deployed_portfolio_function(
        deployment: Deployment, lambda_invocations: list[dict[str, Any]], alpaca: FakeAlpaca, tmp_path: Path) -> None:
    config = portfolio_with(tmp_path, 'max_position_weight = 0.1\nposition_cap = "clip"\n')
    signal, plan, report = run_the_day(deployment, lambda_invocations, alpaca, config, "run-limits-clip")
    over = {s for s, w in signal["target_weights"].items() if float(w) > 0.1}
    assert over, "the shipped portfolio holds something above 10% on this day"
    assert {b["values"]["symbol"] for b in plan["limit_bindings"]} == over
    assert all(float(w) <= 0.1 for w in plan["target_weights"].values())
    assert report["success"] and {b["limit"] for b in report["limit_bindings"]} == {"max_position_weight"}
    assert alpaca.requests_to("POST /v2/orders")
