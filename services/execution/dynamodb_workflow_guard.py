"""The workflow guard on DynamoDB: small items in the IdempotencyTable (hash key `id`, TTL `expiration`).

Items are keyed `execution-workflow#<correlation_id>`, a prefix no Powertools record uses
(theirs are `<operation>#<hash>`), so no new table is needed. The claim is a conditional
PutItem (absent or expired); reads are strongly consistent. TTL deletion is lazy, so an
expired item is treated as absent when read.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from services.execution.workflow_guard import ConditionalClaims, WorkflowClaim, claim_from, expired, guard_key
from shared.runtime.aws_clients import given_or_shared


class DynamoDBWorkflowGuard(ConditionalClaims):
    def __init__(self, table_name: str, *, ttl_seconds: int, client: Any = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        client = given_or_shared("dynamodb", client)
        self.table_name = table_name
        self._client = client
        self._ttl = ttl_seconds
        self._wall_clock = wall_clock

    @staticmethod
    def _plain(item: dict[str, Any]) -> dict[str, Any]:
        return {name: next(iter(value.values())) for name, value in item.items()}

    def _read(self, correlation_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key={"id": {"S": guard_key(correlation_id)}},
                                         ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        plain = self._plain(item)
        if expired(plain, self._wall_clock()):
            return None
        return plain

    def peek(self, correlation_id: str) -> WorkflowClaim | None:
        item = self._read(correlation_id)
        return None if item is None else claim_from(correlation_id, item)

    def _put_if_free(self, correlation_id: str, item: dict[str, Any]) -> WorkflowClaim:
        now = int(self._wall_clock())
        typed = {name: {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
                 for name, value in item.items()}
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={"id": {"S": guard_key(correlation_id)}, **typed},
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            held = self._read(correlation_id)
            if held is None:  # expired between the two calls: try once more
                return self._put_if_free(correlation_id, item)
            return claim_from(correlation_id, held)
        return claim_from(correlation_id, item)

    def finish(self, correlation_id: str, plan_id: str, status: str) -> None:
        # ConditionalCheckFailed: another plan holds the workflow (or the claim expired): nothing of ours to finish
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self.table_name,
                Key={"id": {"S": guard_key(correlation_id)}},
                UpdateExpression="SET #state = :done, #status = :status, finished_at = :now",
                ConditionExpression="plan_id = :plan",
                ExpressionAttributeNames={"#state": "state", "#status": "status"},
                ExpressionAttributeValues={":done": {"S": "done"}, ":status": {"S": status},
                                           ":now": {"N": str(int(self._wall_clock()))}, ":plan": {"S": plan_id}},
            )
