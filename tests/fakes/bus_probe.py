"""What a handler published on an EventBridge bus (moto): a rule sends every matching event to a queue.

    probe = BusProbe.on(BUS, {"source": ["alchemiser.strategy"]})   # inside mock_aws, after the bus exists
    ... invoke the handler ...
    probe.delivered()   # the envelopes, oldest first; each call drains the queue
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass(frozen=True)
class BusProbe:
    queue_url: str

    @classmethod
    def on(cls, bus: str, pattern: dict[str, Any], *, name: str = "published") -> BusProbe:
        events, sqs = boto3.client("events"), boto3.client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=f"{name}-probe", EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"{name}-probe", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        return cls(url)

    def delivered(self) -> list[dict[str, Any]]:
        sqs, out = boto3.client("sqs"), []
        while batch := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            out += [json.loads(m["Body"]) for m in batch]
            for m in batch:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return out
