"""Fault injection for the simulated broker: make chosen orders reject, fill partially, or stall.

Configured per symbol or per client_order_id (the latter wins), in code or from a mapping
(e.g. a JSON/YAML block of the local configuration):

    {"by_symbol": {"TQQQ": {"kind": "partial", "steps": ["0.3", "0.6"]}},
     "by_client_order_id": {"wf-1-SPY-buy": {"kind": "reject", "message": "halted"}}}

Kinds:
- reject        refused at submit (OrderRejected; no order exists, as with Alpaca's 403/422)
- reject_later  accepted ("new"), then "rejected" at the first poll
- partial       accepted ("new"); each poll fills up to the next cumulative fraction in `steps`;
                after the last step the order is "filled" if that step is 1, otherwise it stays
                "partially_filled" until canceled
- stall         accepted ("new") and never fills; stays open until canceled
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast

FaultKind = Literal["reject", "reject_later", "partial", "stall"]
FAULT_KINDS: frozenset[str] = frozenset({"reject", "reject_later", "partial", "stall"})


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    steps: tuple[Decimal, ...] = ()
    """partial: cumulative fractions of the order filled at successive polls, each in (0, 1], ascending."""
    message: str = "rejected by the simulated broker (fault injection)"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        if self.kind == "partial":
            if not self.steps:
                raise ValueError("a partial fault needs steps (cumulative fractions)")
            previous = Decimal(0)
            for step in self.steps:
                if not previous < step <= 1:
                    raise ValueError(f"partial steps must ascend within (0, 1]: {list(self.steps)}")
                previous = step

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Fault:
        kind = str(data.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        steps = tuple(Decimal(str(s)) for s in data.get("steps", ()))
        message = str(data.get("message", cls.message))
        return cls(kind=cast(FaultKind, kind), steps=steps, message=message)


@dataclass(frozen=True)
class SimFaults:
    by_symbol: Mapping[str, Fault] = field(default_factory=dict)
    by_client_order_id: Mapping[str, Fault] = field(default_factory=dict)

    def for_order(self, symbol: str, client_order_id: str) -> Fault | None:
        return self.by_client_order_id.get(client_order_id) or self.by_symbol.get(symbol)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SimFaults:
        unknown = set(data) - {"by_symbol", "by_client_order_id"}
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}")
        return cls(
            by_symbol={k: Fault.from_mapping(v) for k, v in (data.get("by_symbol") or {}).items()},
            by_client_order_id={
                k: Fault.from_mapping(v) for k, v in (data.get("by_client_order_id") or {}).items()
            },
        )
