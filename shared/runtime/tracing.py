"""Powertools Tracer (X-Ray), only when the stage turns tracing on.

The template's `Tracing` parameter sets each function's `Tracing: Active` and its environment's
`POWERTOOLS_TRACE_DISABLED` ("true" by default, "false" when tracing is on). `traced(service)`
reads that variable once, when the handler module is imported:

- off (the default): the handler is returned as it is; neither `aws_xray_sdk` nor a `Tracer` is
  built or imported (the X-Ray SDK and its patching cost cold-start time: bench/cold_import.py);
- on: the handler is wrapped by `Tracer(service=...).capture_lambda_handler`, outermost, so the
  `## lambda_handler` subsegment spans the whole invocation (Logger, Metrics and the envelope
  middleware included); Powertools patches boto3 and requests, so the bus, DynamoDB, Secrets
  Manager and Alpaca calls appear as subsegments. Responses are not captured as metadata (they
  can be large, and they carry account figures); errors are.

aws-xray-sdk is Powertools' own dependency for Tracer (its `tracer` extra); our code never imports
it. The layer build installs it, and wrapt, without their dependency botocore (the Lambda runtime
has it; a second copy in the layer would shadow the runtime's): Makefile build-DependenciesLayer.
Tracing on without it fails at import with the reason, rather than running untraced.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def tracing_enabled(environ: Any = None) -> bool:
    """True only when POWERTOOLS_TRACE_DISABLED says "false" (or 0/no/off): unset means off."""
    value = (environ if environ is not None else os.environ).get(TRACE_DISABLED_ENV, "true").strip().lower()
    if value in _FALSE:
        return True
    if value in _TRUE or value == "":
        return False
    raise ValueError(f"{TRACE_DISABLED_ENV}={value!r}: expected true or false")


def traced(service: str, environ: Any = None) -> Callable[[F], F]:
    """A decorator: the handler itself when tracing is off, wrapped by Powertools Tracer when it is on."""
    if not tracing_enabled(environ):
        return _unchanged
    if importlib.util.find_spec("aws_xray_sdk") is None:  # say so at cold start, not mid-invocation
        raise RuntimeError(f"{TRACE_DISABLED_ENV}=false (Tracing=Active) but aws-xray-sdk is not installed: "
                           "the DependenciesLayer build installs it (Makefile build-DependenciesLayer)")
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=service)

    def wrap(handler: F) -> F:
        return tracer.capture_lambda_handler(handler, capture_response=False)  # type: ignore[return-value]

    return wrap


def _unchanged(handler: F) -> F:
    return handler
