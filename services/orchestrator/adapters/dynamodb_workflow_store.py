"""WorkflowStore on the template's WorkflowTable (DynamoDB), with conditional writes.

Items (pk / sk):
- WORKFLOW#<correlation id> / STATE            the record: version, status, data (JSON), expires_at;
  gsi1pk = "OPEN" and gsi1sk = "<last progress ISO>#<correlation id>" only while the workflow
  is open (not finished, or effects still owed), so the `open-workflows` index stays sparse.
- WORKFLOW#<correlation id> / EVENT#<event id>  each event seen, once (attribute_not_exists);
  replay names are appended to it.
- EQUITY#<trading mode> / <trading date>#<correlation id>   the equity snapshot (kept; no TTL).

(Exactly-once notification claims are Powertools idempotency records in the IdempotencyTable,
see dependencies.py and notifications.py.)

Records and events expire (TTL `expires_at`) after RETENTION_DAYS, beyond the archive's 365 days.
A record keeps whole events (each up to EventBridge's 256 KB); one larger than INLINE_LIMIT is
stored zlib-compressed (`data_z`, binary) to stay under DynamoDB's 400 KB item limit.
"""

from __future__ import annotations

import json
import time
import zlib
from datetime import date
from typing import Any

from services.orchestrator.workflow_record import (
    RETENTION_DAYS,
    EquitySnapshot,
    EventEntry,
    StoredWorkflow,
    WorkflowRecord,
)
from shared.runtime.aws_clients import given_or_shared

OPEN_INDEX = "open-workflows"
OPEN = "OPEN"
CONDITION_FAILED = "ConditionalCheckFailedException"
INLINE_LIMIT = 300_000


def encode_data(text: str) -> dict[str, Any]:
    raw = text.encode()
    if len(raw) <= INLINE_LIMIT:
        return {"data": {"S": text}}
    return {"data_z": {"B": zlib.compress(raw, 6)}}


def decode_data(item: dict[str, Any]) -> str:
    if "data_z" in item:
        return zlib.decompress(item["data_z"]["B"]).decode()
    return str(item["data"]["S"])


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _condition_failed(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == CONDITION_FAILED


class DynamoDBWorkflowStore:
    def __init__(self, table_name: str, client: Any = None, *, wall_clock: Any = time.time) -> None:
        client = given_or_shared("dynamodb", client)
        self.table_name, self._client, self._wall_clock = table_name, client, wall_clock

    def _expires_at(self) -> dict[str, str]:
        return _n(int(self._wall_clock()) + RETENTION_DAYS * 86400)

    # ------------------------------------------------------------------ workflow records

    def load(self, correlation_id: str) -> StoredWorkflow | None:
        item = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                     Key={"pk": _s(f"WORKFLOW#{correlation_id}"), "sk": _s("STATE")}).get("Item")
        if item is None:
            return None
        return StoredWorkflow(record=WorkflowRecord.model_validate_json(decode_data(item)),
                              version=int(item["version"]["N"]))

    def save(self, record: WorkflowRecord, *, expected_version: int) -> bool:
        item = {
            "pk": _s(f"WORKFLOW#{record.correlation_id}"), "sk": _s("STATE"),
            "version": _n(expected_version + 1), "status": _s(record.status),
            **encode_data(record.model_dump_json()), "expires_at": self._expires_at(),
        }
        if record.is_open:
            item["gsi1pk"] = _s(OPEN)
            item["gsi1sk"] = _s(f"{record.last_progress_at.isoformat()}#{record.correlation_id}")
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if expected_version:
            condition = {"ConditionExpression": "#v = :expected", "ExpressionAttributeNames": {"#v": "version"},
                         "ExpressionAttributeValues": {":expected": _n(expected_version)}}
        try:
            self._client.put_item(TableName=self.table_name, Item=item, **condition)
        except Exception as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def open_workflows(self) -> list[WorkflowRecord]:
        records: list[WorkflowRecord] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name, "IndexName": OPEN_INDEX,
                                  "KeyConditionExpression": "gsi1pk = :open",
                                  "ExpressionAttributeValues": {":open": _s(OPEN)}}
        while True:
            page = self._client.query(**kwargs)
            records.extend(WorkflowRecord.model_validate_json(decode_data(item)) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return records
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ------------------------------------------------------------------ event log

    def record_event(self, entry: EventEntry) -> bool:
        key = {"pk": _s(f"WORKFLOW#{entry.correlation_id}"), "sk": _s(f"EVENT#{entry.event_id}")}
        data = entry.model_dump(mode="json", exclude={"replay_names"})
        item = {**key, "data": _s(json.dumps(data)), "detail_type": _s(entry.detail_type),
                "replay_names": {"L": [_s(n) for n in entry.replay_names]}, "expires_at": self._expires_at()}
        try:
            self._client.put_item(TableName=self.table_name, Item=item,
                                  ConditionExpression="attribute_not_exists(pk)")
            return True
        except Exception as exc:
            if not _condition_failed(exc):
                raise
        if entry.replay_names:
            self._client.update_item(
                TableName=self.table_name, Key=key,
                UpdateExpression="SET replay_names = list_append(if_not_exists(replay_names, :empty), :names)",
                ExpressionAttributeValues={":empty": {"L": []}, ":names": {"L": [_s(n) for n in entry.replay_names]}},
            )
        return False

    def event_entry(self, correlation_id: str, event_id: str) -> EventEntry | None:
        item = self._client.get_item(TableName=self.table_name, ConsistentRead=True, Key={
            "pk": _s(f"WORKFLOW#{correlation_id}"), "sk": _s(f"EVENT#{event_id}")}).get("Item")
        if item is None:
            return None
        names = [n["S"] for n in item.get("replay_names", {}).get("L", [])]
        return EventEntry.model_validate({**json.loads(item["data"]["S"]), "replay_names": names})

    # ------------------------------------------------------------------ equity snapshots

    def put_snapshot(self, snapshot: EquitySnapshot) -> None:
        self._client.put_item(TableName=self.table_name, Item={
            "pk": _s(f"EQUITY#{snapshot.trading_mode}"),
            "sk": _s(f"{snapshot.trading_date.isoformat()}#{snapshot.correlation_id}"),
            "data": _s(snapshot.model_dump_json()),
        })

    def snapshots(self, trading_mode: str, start: date, end: date) -> list[EquitySnapshot]:
        found: list[EquitySnapshot] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {":pk": _s(f"EQUITY#{trading_mode}"), ":start": _s(start.isoformat()),
                                          ":end": _s(f"{end.isoformat()}#~")},
        }
        while True:
            page = self._client.query(**kwargs)
            found.extend(EquitySnapshot.model_validate_json(item["data"]["S"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(found, key=lambda s: (s.trading_date, s.recorded_at))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
