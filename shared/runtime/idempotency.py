"""Powertools idempotency, on DynamoDB in AWS and on the embedded store locally.

`IdempotentOperation.run` wraps a domain operation with an effect: the first call runs it and stores its
result; later calls with the same key return that result marked `duplicate=True`; a call while
another is still running raises IdempotencyAlreadyInProgressError (so Lambda retries it later).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from shared.runtime import aws_clients

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotentHookFunction

    from shared.runtime.sqlite_store import Document

_DUPLICATE = "__idempotent_replay__"


class SqlitePersistenceLayer(BasePersistenceLayer):
    """A Powertools persistence layer on the embedded store, with DynamoDB's conditions."""

    def __init__(self, path: Path, table: str = "idempotency") -> None:
        from shared.runtime.sqlite_store import SqliteTable  # local only: AWS never loads sqlite3

        super().__init__()  # type: ignore[no-untyped-call]
        self._table = SqliteTable(path, table)

    @staticmethod
    def _to_record(key: str, item: Document) -> DataRecord:
        return DataRecord(
            idempotency_key=key,
            status=item["status"],
            expiry_timestamp=item.get("expiration"),
            in_progress_expiry_timestamp=item.get("in_progress_expiration"),
            response_data=item.get("data", ""),
            payload_hash=item.get("validation", ""),
        )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        item = self._table.get(idempotency_key)
        if item is None:
            raise IdempotencyItemNotFoundError
        return self._to_record(idempotency_key, item)

    def _put_record(self, data_record: DataRecord) -> None:
        now = dt.datetime.now()
        now_s, now_ms = int(now.timestamp()), int(now.timestamp() * 1000)
        new_item: Document = {
            "status": data_record.status,
            "expiration": data_record.expiry_timestamp,
            "in_progress_expiration": data_record.in_progress_expiry_timestamp,
            "validation": data_record.payload_hash,
        }
        existing: list[Document] = []

        def put_unless_live(old: Document | None) -> Document | None:
            # Same condition as DynamoDBPersistenceLayer: absent, expired, or in progress past its expiry.
            if old is None or (old.get("expiration") or 0) < now_s or (
                old["status"] == STATUS_CONSTANTS["INPROGRESS"]
                and old.get("in_progress_expiration") is not None
                and old["in_progress_expiration"] < now_ms
            ):
                return new_item
            existing.append(old)
            return None

        self._table.transact(data_record.idempotency_key, put_unless_live)
        if existing:
            old_record = self._to_record(data_record.idempotency_key, existing[0])
            self._validate_payload(data_payload=data_record, stored_data_record=old_record)
            raise IdempotencyItemAlreadyExistsError(old_data_record=old_record)

    def _update_record(self, data_record: DataRecord) -> None:
        def update(old: Document | None) -> Document:
            item = dict(old or {})
            item.update(status=data_record.status, expiration=data_record.expiry_timestamp,
                        data=data_record.response_data, validation=data_record.payload_hash)
            return item

        self._table.transact(data_record.idempotency_key, update)

    def _delete_record(self, data_record: DataRecord) -> None:
        self._table.delete(data_record.idempotency_key)


def make_persistence(*, table_name: str | None, state_dir: Path, local: bool) -> BasePersistenceLayer:
    """DynamoDB table in AWS; the embedded store under `state_dir` locally."""
    if local:
        return SqlitePersistenceLayer(state_dir / "state.sqlite")
    if not table_name:
        raise ValueError("an idempotency table name is required outside local mode")
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    # one DynamoDB client per container, shared by every persistence layer (left to itself Powertools
    # opens a new boto3 session per layer, ~75 ms of a cold start each)
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws_clients.client("dynamodb"))


@dataclass(frozen=True)
class Once:
    """The result of `IdempotentOperation.run`."""

    result: dict[str, Any]
    duplicate: bool


def _mark_duplicate(response: Any, _record: DataRecord) -> Any:
    return {_DUPLICATE: True, "response": response}


class IdempotentOperation:
    """One operation with an effect, run at most once per key.

    Powertools configures a persistence layer once (its expiry sticks), so each operation owns
    its own layer: build one per operation per container, not one per invocation.
    """

    def __init__(self, name: str, persistence: BasePersistenceLayer, *, expires_after_seconds: int) -> None:
        self.name = name
        self.persistence = persistence
        self.expires_after_seconds = expires_after_seconds

    def run(self, key: str, operation: Callable[[], dict[str, Any]], *, context: Any = None) -> Once:
        """Run `operation` once per key; a repeat returns the stored result as a duplicate."""
        config = IdempotencyConfig(
            event_key_jmespath="key",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self.expires_after_seconds,
            response_hook=cast("IdempotentHookFunction", _mark_duplicate),
        )
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            config.register_lambda_context(context)

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="data", persistence_store=self.persistence, config=config,
                             key_prefix=self.name)
        def _guarded(data: dict[str, str]) -> dict[str, Any]:
            return operation()

        out = _guarded(data={"key": key})
        if isinstance(out, dict) and out.get(_DUPLICATE):
            return Once(result=out["response"] or {}, duplicate=True)
        return Once(result=out, duplicate=False)
