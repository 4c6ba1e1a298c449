"""A Lambda context object, as the Python runtime passes it to a handler."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from alchemiser.local.template import LOCAL_ACCOUNT, LOCAL_REGION, FunctionSpec


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))

    @classmethod
    def for_function(cls, spec: FunctionSpec) -> FakeLambdaContext:
        return cls(function_name=spec.physical_name, memory_limit_in_mb=spec.memory, timeout_seconds=spec.timeout)
