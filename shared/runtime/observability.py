"""Powertools Logger and Metrics, built the same way in every function.

The log level is the function's POWERTOOLS_LOG_LEVEL (the template's LogLevel parameter; locally
`alchemiser run --log-level`), applied at every invocation (`configure_invocation`), so a local run,
which imports each handler once for every function it runs, logs each function at its own level. At
DEBUG our library loggers (`shared.*`: the broker's retries, the bar cache) and urllib3's (every HTTP
request to Alpaca, AWS) write through the function's logger too, with its correlation id. Whatever is
written is masked for secrets (shared/runtime/redaction.py). botocore, which logs whole request and
response bodies at DEBUG (a GetSecretValue answer holds the Alpaca keys), never logs below INFO here.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from shared.runtime.metric_names import NAMESPACE
from shared.runtime.redaction import redact

LIBRARY_LOGGERS = ("shared", "urllib3")
"""Routed through the function's logger at DEBUG."""
QUIET_LOGGERS = ("botocore", "boto3", "s3transfer")
"""Never below INFO: at DEBUG they log request and response bodies, secrets included."""


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time, so a local runtime can capture each
    invocation's logs (a StreamHandler would otherwise keep the stream it was built with); every
    line masked for secrets."""

    def write(self, text: str) -> int:
        return sys.stderr.write(redact(text))

    def flush(self) -> None:
        sys.stderr.flush()


def make_logger(service: str) -> Logger:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    # stderr: Lambda sends it to CloudWatch like stdout, and locally it keeps stdout for results.
    return Logger(service=service, stream=_CurrentStderr())  # type: ignore[arg-type]


def configure_invocation(logger: Logger) -> None:
    """At the start of an invocation (the envelope middleware): the function's level on its logger, and at
    DEBUG the library loggers through it (else back to their defaults: they propagate, as before)."""
    level = os.environ.get("POWERTOOLS_LOG_LEVEL")
    if level:
        logger.setLevel(level.upper())
    debug = logger.log_level <= logging.DEBUG
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers = list(logger.handlers) if debug else []
        library.setLevel(logging.DEBUG if debug else logging.NOTSET)
        library.propagate = not debug


def make_metrics(service: str) -> Metrics:
    return Metrics(namespace=NAMESPACE, service=service)


def count(metrics: Any, name: str, value: float = 1) -> None:
    """Add a Count metric; a no-op when no Metrics object is wired (plain unit tests)."""
    if metrics is not None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
