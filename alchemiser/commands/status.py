"""`alchemiser status [--stage STAGE]`: the system at a glance.

The last workflows (outcome, each step's time, why one failed), the kill switch, the account's
equity and positions, the dead-letter queue's depth and the alarms in ALARM.

- Locally everything comes from the state dir: the orchestrator's embedded workflow store
  (`state.sqlite`), the kill-switch file, the simulated broker's account (valued at each position's
  last fill price: status fetches no market data) and the local DLQ. Local runs have no CloudWatch
  alarms; status says so.
- With `--stage` it reads the deployed stage: the DynamoDB WorkflowTable (a scan of the workflow
  records), the kill-switch SSM parameter (read as the execution reads it, failing closed), the SQS
  DLQ's approximate depth, CloudWatch's state of every alarm the template declares, and the account
  at Alpaca through the stage's secret (the keys of the stage's TradingMode and its AlpacaSecretName
  as infra/samconfig.toml sets them, else paper keys of alchemiser/<stage>/alpaca; `--mode`,
  `--secret-name` to choose).

A part that cannot be read is reported as such; the others are still shown (exit code 1 then).
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from alchemiser.commands.aws import AwsProblem, aws_errors, client, describe, stage_names
from alchemiser.commands.common import add_state_dir, dumps, fail, stage_arg

STEP_ORDER = ("started", "signals", "planned", "executed", "completed", "failed", "skipped")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", type=stage_arg, help="read the deployed stage (DynamoDB, SSM, SQS, CloudWatch, "
                                                        "Alpaca) instead of the local state dir")
    parser.add_argument("--last", type=int, default=5, metavar="N", help="how many workflows to show (default: 5)")
    parser.add_argument("--mode", choices=("paper", "live"),
                        help="with --stage: which keys of the stage's Alpaca secret read the account (default: the "
                             "stage's TradingMode in infra/samconfig.toml, else paper)")
    parser.add_argument("--secret-name", metavar="NAME",
                        help="with --stage: the Alpaca secret (default: the stage's AlpacaSecretName in "
                             "infra/samconfig.toml, else alchemiser/<stage>/alpaca, as the template)")
    parser.add_argument("--samconfig", type=Path, metavar="FILE",
                        help="with --stage: the SAM config to read the stage's overrides from "
                             "(default: infra/samconfig.toml)")
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


# ---------------------------------------------------------------------------------------------- workflows


def workflow_row(record: Any) -> dict[str, Any]:
    """One workflow for people: outcome, the steps in order with their times and seconds since start."""
    steps = sorted(record.steps.items(), key=lambda kv: (kv[1], STEP_ORDER.index(kv[0])
                                                          if kv[0] in STEP_ORDER else 99))
    start = steps[0][1] if steps else record.created_at
    execution = record.execution or {}
    return {
        "correlation_id": record.correlation_id,
        "trading_date": record.trading_date,
        "trading_mode": record.trading_mode,
        "status": record.status,
        "steps": [{"step": name, "at": at, "after_seconds": round((at - start).total_seconds(), 3)}
                  for name, at in steps],
        "orders": len(execution.get("orders", [])) if isinstance(execution, dict) else 0,
        "failure": None if record.failure is None else f"{record.failure.step}: {record.failure.reason}",
        "limits": _limit_lines(execution, failed=record.failure is not None),
        "effects_owed": len(record.pending),
        "created_at": record.created_at,
    }


def _limit_lines(execution: Any, *, failed: bool) -> list[str]:
    """The limits that bound the workflow (a refusal's sentence is already its failure's reason)."""
    bindings = execution.get("limit_bindings", []) if isinstance(execution, dict) else []
    return [f"{b['message']}. {b.get('change', '')}".rstrip(". ") for b in bindings
            if b.get("action") == "clipped" or not failed]


def latest(records: list[Any], count: int) -> list[dict[str, Any]]:
    records = sorted(records, key=lambda r: (r.created_at, r.correlation_id), reverse=True)
    return [workflow_row(r) for r in records[:max(count, 0)]]


def local_workflows(state_dir: Path) -> list[Any]:
    from services.orchestrator.workflow_record import WorkflowRecord

    database = Path(state_dir) / "state.sqlite"
    if not database.exists():
        return []
    from shared.runtime.sqlite_store import SqliteTable

    return [WorkflowRecord.model_validate_json(item["data"])
            for _, item in SqliteTable(database, "workflows").scan()]


def stage_table(stage: str, resource: str = "WorkflowTable") -> str:
    from alchemiser.local.template import Resolver, load_template

    template = load_template(parameters={"Stage": stage})
    props = template.raw["Resources"][resource]["Properties"]
    return str(Resolver(template.raw, {"Stage": stage}).resolve(props["TableName"]))


def stage_workflows(stage: str, dynamodb: Any) -> list[Any]:
    """Every workflow record of the stage's table (a paginated scan of the STATE items)."""
    from services.orchestrator.adapters.dynamodb_workflow_store import decode_data
    from services.orchestrator.workflow_record import WorkflowRecord

    records = []
    for page in dynamodb.get_paginator("scan").paginate(
            TableName=stage_table(stage), FilterExpression="sk = :state",
            ExpressionAttributeValues={":state": {"S": "STATE"}}):
        records += [WorkflowRecord.model_validate_json(decode_data(item)) for item in page.get("Items", [])]
    return records


# ---------------------------------------------------------------------------------------------- account


def account_view(broker: Any, records: Any = None) -> dict[str, Any]:
    """The account and its positions; with the system's positions record (shared/broker/positions_record.py),
    the shares of each the system manages as of its last plan (`not_managed_qty`: left alone)."""
    account, positions = broker.get_account(), broker.get_positions()
    equity = account.equity
    unread = None
    try:
        record = records.read(account.account_id) if records is not None else None
    except Exception as exc:  # the record marks the positions: never a reason to show no account
        record, unread = None, f"the positions record could not be read ({exc}): managed or not unknown"
    held = dict(record.held) if record is not None else None
    return {
        **({"positions_record": unread} if unread else {}),
        "equity": equity, "cash": account.cash, "buying_power": account.buying_power,
        "positions": [{"symbol": p.symbol, "qty": p.qty, "market_value": p.market_value,
                       "price": p.current_price,
                       "weight": (p.market_value / equity).quantize(Decimal("0.0001"))
                       if equity else None,
                       "not_managed_qty": None if held is None else p.qty - min(held.get(p.symbol, Decimal(0)), p.qty)}
                      for p in positions],
    }


def local_account(state_dir: Path, records: list[Any] | None = None) -> dict[str, Any] | None:
    """The simulated account, valued as the latest run valued it: at that day's closes from the data it ran on
    (the equity the run printed and the orchestrator recorded, what `pnl` reports). Without such a run (none
    recorded, or one on Alpaca data, which needs keys and the network), at each position's last fill price."""
    path = Path(state_dir) / "broker" / "simulated.sqlite3"
    if not path.exists():
        return None
    from shared.broker.positions_record import SqlitePositionsRecord

    positions_record = SqlitePositionsRecord(Path(state_dir) / "state.sqlite")
    run = latest_local_run(state_dir, records if records is not None else local_workflows(state_dir))
    if run is not None:
        from shared.runtime.clock import trading_date
        from shared.venues.factory import make_broker
        from shared.venues.settings import BrokerSettings

        as_of = datetime.fromisoformat(run["as_of"])
        broker = make_broker(BrokerSettings.from_env({
            "ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(state_dir), "ALCHEMISER_AS_OF": run["as_of"],
            "ALCHEMISER_BROKER": "sim", "ALCHEMISER_MARKET_DATA": run["data"]}))
        view = account_view(broker, positions_record)
        day = trading_date(as_of).isoformat()
        view["valued_at"] = {"date": day, "prices": "close", "data": run["data"]}
        view["source"] = f"simulated broker, {run['data']} data: valued as the run and pnl value it"
        return view
    from shared.venues.simulated.broker import SimulatedBroker

    def no_price(symbol: str) -> Any:
        raise LookupError(symbol)  # valued at each position's last fill price

    broker = SimulatedBroker(state_dir, no_price, calendar=cast(Any, None), now=lambda: datetime.now(UTC))
    view = account_view(broker, positions_record)
    view["valued_at"] = {"date": None, "prices": "last fill", "data": None}
    view["source"] = f"simulated broker ({path}), at last fill prices (no local run to value it with)"
    return view


def synthetic_runs(state_dir: Path, correlation_ids: list[str]) -> bool:
    """Whether any of these workflows ran on the generated offline prices (their run records say which data)."""
    from alchemiser.local.statedir import read_run_record

    return any((read_run_record(state_dir, c) or {}).get("data") == "offline" for c in correlation_ids)


def latest_local_run(state_dir: Path, records: list[Any]) -> dict[str, Any] | None:
    """The run record (broker, data, as_of) of the latest workflow run on the simulated broker with local data."""
    from alchemiser.local.statedir import read_run_record

    for record in sorted(records, key=lambda r: (r.created_at, r.correlation_id), reverse=True):
        run = read_run_record(state_dir, record.correlation_id)
        if run and run.get("as_of") and run.get("data"):
            if run.get("broker") == "sim" and run["data"] != "alpaca":
                return run
            return None
    return None


def stage_overrides(stage: str, samconfig: Path | None) -> dict[str, str]:
    """The stage's parameter_overrides in samconfig.toml (what `alchemiser init` wrote), or nothing."""
    import tomllib

    from alchemiser.commands.aws import DEFAULT_SAMCONFIG
    from alchemiser.commands.init import parse_overrides

    path = samconfig or DEFAULT_SAMCONFIG
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    text = config.get(stage, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    try:
        return parse_overrides(str(text))
    except Exception:
        return {}


def stage_account(stage: str, mode: str | None, secret_name: str | None,
                  samconfig: Path | None = None) -> dict[str, Any]:
    from shared.venues.alpaca.keys import load_alpaca_credentials
    from shared.venues.alpaca.trading import AlpacaBroker

    overrides = stage_overrides(stage, samconfig)
    mode = mode or overrides.get("TradingMode") or "paper"
    name = secret_name or overrides.get("AlpacaSecretName") or f"alchemiser/{stage}/alpaca"
    keys = load_alpaca_credentials(name, client=client("secretsmanager", stage, samconfig)).keys_for_mode(mode)
    broker = AlpacaBroker.from_keys(keys, trading_url=os.environ.get("ALCHEMISER_ALPACA_TRADING_URL") or None,
                                    data_url=os.environ.get("ALCHEMISER_ALPACA_DATA_URL") or None)
    from shared.broker.positions_record import DynamoDBPositionsRecord

    view = account_view(broker, DynamoDBPositionsRecord(stage_table(stage, "IdempotencyTable"),
                                                        client=client("dynamodb")))
    view["source"] = f"Alpaca {mode} (secret {name})"
    return view


# ---------------------------------------------------------------------------------------------- alarms, DLQ


def alarm_names(stage: str) -> list[str]:
    from alchemiser.local.template import Resolver, load_template

    template = load_template(parameters={"Stage": stage})
    resolver = Resolver(template.raw, {"Stage": stage})
    return sorted(str(resolver.resolve(r["Properties"]["AlarmName"])) for r in template.raw["Resources"].values()
                  if r.get("Type") == "AWS::CloudWatch::Alarm" and "AlarmName" in r.get("Properties", {}))


def stage_alarms(stage: str, cloudwatch: Any) -> dict[str, Any]:
    names = alarm_names(stage)
    found: list[dict[str, Any]] = []
    for start in range(0, len(names), 100):
        found += cloudwatch.describe_alarms(AlarmNames=names[start:start + 100]).get("MetricAlarms", [])
    in_alarm = [{"name": a["AlarmName"], "reason": a.get("StateReason"), "since": a.get("StateUpdatedTimestamp")}
                for a in found if a.get("StateValue") == "ALARM"]
    missing = sorted(set(names) - {a["AlarmName"] for a in found})
    return {"declared": len(names), "found": len(found), "in_alarm": in_alarm, "missing": missing}


def stage_dlq_depth(stage: str, sqs: Any) -> int:
    url = sqs.get_queue_url(QueueName=stage_names(stage)["dlq"])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])
    return sum(int(v) for v in attributes.get("Attributes", {}).values())


# ---------------------------------------------------------------------------------------------- gathering


def _part(status: dict[str, Any], key: str, stage: str | None, read: Any) -> None:
    """status[key] = read(), or a problem noted under status['problems'] (the other parts still shown)."""
    try:
        status[key] = read()
    except Exception as exc:
        text = describe(exc, stage) if stage else None
        status.setdefault("problems", []).append(f"{key}: {text or f'{type(exc).__name__}: {exc}'}")
        status[key] = None


def gather(args: argparse.Namespace) -> dict[str, Any]:
    status: dict[str, Any] = {"where": f"stage {args.stage}" if args.stage else str(args.state_dir), "synthetic": False}
    if args.stage:
        from alchemiser.commands.kill_switch import read_stage

        stage, samconfig = args.stage, args.samconfig
        _part(status, "workflows", stage,
              lambda: latest(stage_workflows(stage, client("dynamodb", stage, samconfig)), args.last))
        _part(status, "kill_switch", stage, lambda: _switch(read_stage(stage, client("ssm", stage, samconfig))))
        _part(status, "account", stage, lambda: stage_account(stage, args.mode, args.secret_name,
                                                                       args.samconfig))
        _part(status, "dlq_depth", stage, lambda: stage_dlq_depth(stage, client("sqs", stage, samconfig)))
        _part(status, "alarms", stage, lambda: stage_alarms(stage, client("cloudwatch", stage, samconfig)))
        return status
    from alchemiser.commands.kill_switch import read_local
    from alchemiser.local.storage import DeadLetterQueue

    state_dir = args.state_dir
    records = local_workflows(state_dir)
    status["synthetic"] = synthetic_runs(state_dir, [r.correlation_id for r in records])
    _part(status, "workflows", None, lambda: latest(records, args.last))
    _part(status, "kill_switch", None, lambda: _switch(read_local(state_dir)))
    _part(status, "account", None, lambda: local_account(state_dir, records))
    _part(status, "dlq_depth", None, lambda: len(DeadLetterQueue(state_dir).messages()))
    status["alarms"] = None  # CloudWatch alarms exist on a deployed stage only
    return status


def _switch(reading: Any) -> dict[str, Any]:
    return {"state": reading.state, "source": reading.source, "detail": reading.detail}


# ---------------------------------------------------------------------------------------------- output


def _time(moment: datetime) -> str:
    from alchemiser.text import when

    return when(moment)


def render(status: dict[str, Any]) -> str:
    lines = [f"The Alchemiser status ({status['where']})", ""]
    if status.get("synthetic"):
        from alchemiser.text import SYNTHETIC

        lines[1:1] = [f"{SYNTHETIC} (these runs traded on them)"]
    workflows = status.get("workflows")
    if workflows is not None:
        lines.append(f"Last workflows ({len(workflows)}):" if workflows else "Workflows: none yet")
        for w in workflows:
            lines.append(f"  {w['correlation_id']}  {w['trading_date'] or '-'}  {outcome(w['status'])}"
                         f"  orders {w['orders']}" + (f"  ({w['effects_owed']} effects owed)"
                                                      if w["effects_owed"] else ""))
            if w["steps"]:
                first = w["steps"][0]
                lines.append(f"    {first['step']} {_time(first['at'])}; " + ", ".join(
                    f"{s['step']} +{s['after_seconds']:.1f}s" for s in w["steps"][1:]))
            if w["failure"]:
                lines.append(f"    why: {w['failure']}")
            lines += [f"    limit: {line}" for line in w.get("limits", [])]
    switch = status.get("kill_switch")
    if switch is not None:
        from alchemiser.console import styled

        state = styled(switch["state"].upper(), "green" if switch["state"] == "active" else "bold red")
        lines += ["", f"Kill switch: {state} ({switch['source']})"
                  + (f": {switch['detail']}" if switch["detail"] else "")]
    account = status.get("account")
    lines.append("")
    if account is None and "account" in status and not _failed(status, "account"):
        lines.append("Account: none yet (no simulated account in this state dir)")
    elif account is not None:
        valued = account.get("valued_at") or {}
        when = {"close": f" at the {valued.get('date')} close", "last fill": " at last fill prices"}.get(
            str(valued.get("prices")), "")
        lines.append(f"Account: equity ${account['equity']:,}{when}  cash ${account['cash']:,}  buying power "
                     f"${account['buying_power']:,}  [{account['source']}]")
        from alchemiser.console import Column, table

        def managed(p: dict[str, Any]) -> str:
            left = p.get("not_managed_qty")
            return "" if not left else "not managed" if left == p["qty"] else f"{left} not managed"

        lines += table([Column("Symbol", style="bold"), Column("Qty", right=True), Column("Value", right=True),
                        Column("Weight", right=True), Column("Managed")],
                       [[p["symbol"], f"{p['qty']}", f"${p['market_value']:,}",
                         f"{p['weight'] * 100:.2f}%" if p["weight"] is not None else "-", managed(p)]
                        for p in account["positions"]]) if account["positions"] else ["  no positions"]
    if status.get("dlq_depth") is not None:
        lines.append(f"Dead-letter queue: {status['dlq_depth']} message(s)"
                     + ("  (alchemiser dlq list" + (f" --stage {status['where'][6:]}" if status["where"]
                                                     .startswith("stage ") else "") + ")"
                        if status["dlq_depth"] else ""))
    alarms = status.get("alarms")
    if alarms is None and not _failed(status, "alarms"):
        lines.append("Alarms: none locally (CloudWatch alarms exist on a deployed stage: status --stage STAGE)")
    elif alarms is not None:
        lines.append(f"Alarms: {len(alarms['in_alarm'])} in ALARM of {alarms['found']} deployed"
                     + (f" (not found: {', '.join(alarms['missing'])})" if alarms["missing"] else ""))
        lines += [f"  {a['name']}: {a['reason'] or '-'}" for a in alarms["in_alarm"]]
    for problem in status.get("problems", []):
        lines.append(f"could not read {problem}")
    return "\n".join(lines)


def outcome(status: str) -> str:
    """A workflow's status in capitals, green when completed, red when failed, yellow otherwise (on a terminal)."""
    from alchemiser.console import styled

    return styled(status.upper(), {"completed": "green", "failed": "bold red"}.get(status, "yellow"))


def _failed(status: dict[str, Any], key: str) -> bool:
    return any(p.startswith(f"{key}:") for p in status.get("problems", []))


def run(args: argparse.Namespace) -> int:
    if args.last < 0:
        return fail("--last must be 0 or more")
    try:
        if args.stage:
            with aws_errors(args.stage):
                status = gather(args)
        else:
            status = gather(args)
    except AwsProblem as exc:
        return fail(str(exc), code=1)
    if args.json:
        print(dumps(status))
    else:
        from alchemiser.text import say

        say(render(status))
    return 1 if status.get("problems") else 0
