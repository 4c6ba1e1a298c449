"""Notifier over an SNS topic (the template's NotificationTopic, with its email subscription)."""

from __future__ import annotations

from typing import Any

from services.orchestrator.messages.formatting import subject_line
from shared.runtime.aws_clients import given_or_shared

MAX_MESSAGE_BYTES = 256 * 1024
_TRUNCATED = "\n\n[message truncated: over SNS's 256 KB limit]\n"


def fit_message(message: str) -> str:
    data = message.encode()
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    keep = MAX_MESSAGE_BYTES - len(_TRUNCATED.encode())
    return data[:keep].decode(errors="ignore") + _TRUNCATED


class SnsNotifier:
    def __init__(self, topic_arn: str, client: Any = None) -> None:
        client = given_or_shared("sns", client)
        self.topic_arn, self._client = topic_arn, client

    def send(self, subject: str, message: str) -> str:
        """Publish to the topic; raises (botocore's error) if SNS did not accept it."""
        response = self._client.publish(TopicArn=self.topic_arn, Subject=subject_line(subject),
                                        Message=fit_message(message))
        return str(response["MessageId"])
