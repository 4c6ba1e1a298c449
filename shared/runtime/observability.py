"""Powertools Logger and Metrics, built the same way in every function."""

from __future__ import annotations

import sys
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from shared.runtime.metric_names import NAMESPACE


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time, so a local runtime can capture each
    invocation's logs (a StreamHandler would otherwise keep the stream it was built with)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def make_logger(service: str) -> Logger:
    # stderr: Lambda sends it to CloudWatch like stdout, and locally it keeps stdout for results.
    return Logger(service=service, stream=_CurrentStderr())  # type: ignore[arg-type]


def make_metrics(service: str) -> Metrics:
    return Metrics(namespace=NAMESPACE, service=service)


def count(metrics: Any, name: str, value: float = 1) -> None:
    """Add a Count metric; a no-op when no Metrics object is wired (plain unit tests)."""
    if metrics is not None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
