"""One moto server and one `alchemiser-dev` stack for the whole folder (deploying takes seconds)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.deploy.stack import Deployment, deploy, moto_shims

FAKE_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="package")
def moto_server() -> Iterator[str]:
    """A moto server on a free port, Lambda without Docker (no code runs), moto's gaps closed (stack.py)."""
    from moto.core.models import default_user_config  # type: ignore[attr-defined]
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with pytest.MonkeyPatch.context() as patch, moto_shims():
        for key, value in FAKE_AWS_ENV.items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.setitem(default_user_config, "lambda", {"use_docker": False})
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture(scope="package")
def deployment(moto_server: str) -> Deployment:
    return deploy(moto_server, "dev")


@pytest.fixture(scope="package")
def lambda_invocations(moto_server: str) -> Iterator[list[dict[str, Any]]]:
    """Every Invoke the moto server receives: function name and payload (moto runs no code). moto's
    no-Docker Lambda accepts an Invoke of any name; here, like Lambda, only of a deployed function."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    calls: list[dict[str, Any]] = []
    original = LambdaSimpleBackend.invoke

    def recording(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
                  response_headers: Any) -> Any:
        self.get_function(function_name, qualifier)  # as Lambda: no such function, ResourceNotFoundException
        calls.append({"function": function_name, "payload": body,
                      "type": (headers or {}).get("X-Amz-Invocation-Type")})
        return original(self, function_name, qualifier, body, headers, response_headers)

    LambdaSimpleBackend.invoke = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]
