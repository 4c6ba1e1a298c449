"""The events a workflow record keeps, validated back into their models where they are read.

The record stores each event it keeps as its JSON (`workflow_record.EventData`, see workflow_record.py), so a
progress event (WorkflowStarted, SignalGenerated, RebalancePlanned) neither builds nor validates the
models of the other events. The terminal path reads them typed - the equity snapshot's prices,
weights and attribution, the WorkflowCompleted summary's equity before trading, the daily report -
through `RecordedEvents`: each event is validated on first read (so its model is built only then),
once per terminal transition.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from services.orchestrator.workflow_record import WorkflowRecord

if TYPE_CHECKING:
    from shared.events import RebalancePlanned, SignalGenerated, TradeExecuted


class RecordedEvents:
    """Typed views of `record`'s events; `execution` may be given when the caller holds it validated."""

    def __init__(self, record: WorkflowRecord, *, execution: TradeExecuted | None = None) -> None:
        self.record, self._execution = record, execution

    @cached_property
    def signals(self) -> SignalGenerated | None:
        if self.record.signals is None:
            return None
        from shared.events.signal_generated import SignalGenerated

        return SignalGenerated.model_validate(self.record.signals)

    @cached_property
    def plan(self) -> RebalancePlanned | None:
        if self.record.plan is None:
            return None
        from shared.events.rebalance_planned import RebalancePlanned

        return RebalancePlanned.model_validate(self.record.plan)

    @cached_property
    def execution(self) -> TradeExecuted | None:
        if self._execution is not None or self.record.execution is None:
            return self._execution
        from shared.events.trade_executed import TradeExecuted

        return TradeExecuted.model_validate(self.record.execution)
