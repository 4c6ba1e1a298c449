"""The conftest patch that makes moto's conditional writes atomic, as DynamoDB's are."""

from __future__ import annotations

import threading
import time

import boto3
from moto import mock_aws
from moto.dynamodb.models.table import Table

from tests.fakes.aws_from_template import create_table


@mock_aws
def test_concurrent_conditional_puts_on_moto_admit_exactly_one_writer(monkeypatch):
    # Widen moto's read-then-write window so an unlocked moto would let every thread win.
    read = Table.get_item

    def slow_read(self, *args, **kwargs):
        item = read(self, *args, **kwargs)
        time.sleep(0.02)
        return item

    monkeypatch.setattr(Table, "get_item", slow_read)
    name = create_table("IdempotencyTable")
    client = boto3.client("dynamodb")
    barrier, wins = threading.Barrier(8), []

    def put(i: int) -> None:
        barrier.wait()
        try:
            client.put_item(TableName=name, Item={"id": {"S": "k"}, "by": {"N": str(i)}},
                            ConditionExpression="attribute_not_exists(id)")
            wins.append(i)
        except client.exceptions.ConditionalCheckFailedException:
            pass

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
