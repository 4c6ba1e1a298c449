"""The daily turnover ledger as an item of the IdempotencyTable, in AWS (turnover_ledger.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from services.execution.turnover_ledger import (
    MAX_ATTEMPTS,
    RETENTION_SECONDS,
    Entries,
    LedgerOperations,
    T,
    from_json,
    to_json,
)
from shared.runtime.aws_clients import given_or_shared


class DynamoDBTurnoverLedger(LedgerOperations):
    def __init__(self, table_name: str, *, client: Any = None, wall_clock: Callable[[], float] = time.time) -> None:
        client = given_or_shared("dynamodb", client)
        self.table_name = table_name
        self._client = client
        self._wall_clock = wall_clock

    def _mutate(self, key: str, change: Callable[[Entries], tuple[T, Entries | None]]) -> T:
        item_key = {"id": {"S": key}}
        for _ in range(MAX_ATTEMPTS):
            item = self._client.get_item(TableName=self.table_name, Key=item_key, ConsistentRead=True).get("Item")
            version = int(item["version"]["N"]) if item else 0
            result, new = change(from_json(_plans_of(item)))
            if new is None:
                return result
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item={**item_key, "entries": {"S": json.dumps(to_json(new), sort_keys=True)},
                          "version": {"N": str(version + 1)},
                          "expiration": {"N": str(int(self._wall_clock()) + RETENTION_SECONDS)}},
                    ConditionExpression="attribute_not_exists(id) OR version = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                continue  # another run wrote meanwhile: read again
            return result
        raise RuntimeError(f"the turnover ledger item {key} kept changing; retry")


def _plans_of(item: dict[str, Any] | None) -> dict[str, Any]:
    """The entries of a DynamoDB item: JSON in `entries`, or the earlier map of plan id -> amount in `plans`."""
    if not item:
        return {}
    if "entries" in item:
        return dict(json.loads(item["entries"]["S"]))
    return {k: v["S"] for k, v in item.get("plans", {}).get("M", {}).items()}
