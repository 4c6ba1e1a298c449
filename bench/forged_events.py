"""The chain drill's `forged events` fault: events no function published, put on the bus for the day's
workflow, as anyone the bus policy lets put events would (a function role, the operator's console):

- before the run (09:31): a WorkflowFailed "AccountBlocked" under the portfolio's source, and a
  TradeExecuted that reports the day executed with invented figures;
- during the run (as soon as the real WorkflowStarted is on the bus, before any real TradeExecuted):
  a TradeExecuted with orders "at the broker", a WorkflowFailed under the strategy's source and an
  ErrorNotificationRequested under the orchestrator's;
- after the day: the day's real events replayed unchanged, the real TradeExecuted edited (its id, other
  contents), a TradeExecuted with orders for the ended workflow and a WorkflowCompleted.

What was sent is counted from the orchestrator's own deliveries of those envelopes (the handler ran on
them), never from this module's intentions. A false terminal state is anything the orchestrator did
because of one: a workflow opened, moved or ended before the run, a publication caused by a forged
event, a recorded failure or outcome that names one, a notification that carries the forger's marker,
or any change, publication or notification after the day. The real day must still trade as if
nothing had been sent: the drill's order, report and failure checks hold it to that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alchemiser.local.runtime import Hop, LocalRuntime, iso_z

SAMPLES = Path(__file__).resolve().parents[1] / "test-events"
KIND = "forged events"
ORCHESTRATION = "alchemiser.orchestration"


def _detail(name: str) -> dict[str, Any]:
    detail: dict[str, Any] = json.loads((SAMPLES / name).read_text())["detail"]
    return detail


@dataclass
class Forger:
    """Sends the forgeries of one trading day and judges what the orchestrator did with them."""

    seed: int
    correlation_id: str
    bus: str
    marker: str = ""
    envelopes: set[str] = field(default_factory=set)
    """Ids of the envelopes the forger put on the bus."""
    replayed: set[str] = field(default_factory=set)
    """Ids of the day's real envelopes the forger delivered again (a replay)."""
    event_ids: set[str] = field(default_factory=set)
    """The forged events' own ids (the edited real event keeps the real one's: not here)."""
    runtime: LocalRuntime | None = None
    """The day's runtime, for the forgeries sent during the run."""
    sent_during: bool = False
    applied: int = 0
    false_terminal: int = 0
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.marker = f"forged-{self.seed}"

    # ---- the forgeries -----------------------------------------------------------------------------

    def _event(self, name: str, at: datetime, index: str, **changes: Any) -> dict[str, Any]:
        detail = {**_detail(name), "event_id": f"{self.marker}-{index}", "correlation_id": self.correlation_id,
                  "causation_id": f"{self.marker}-cause", "occurred_at": iso_z(at), **changes}
        self.event_ids.add(detail["event_id"])
        return detail

    def _executed(self, at: datetime, index: str) -> dict[str, Any]:
        executed = _detail("trade-executed.json")
        orders = [{**o, "client_order_id": f"{self.marker}-{o['symbol']}", "broker_order_id": f"{self.marker}-order"}
                  for o in executed["orders"]]
        return self._event("trade-executed.json", at, index, plan_id=f"plan-{self.marker}", orders=orders,
                           reason=f"{self.marker}: invented figures", started_at=iso_z(at), finished_at=iso_z(at))

    def _entry(self, source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        return {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": self.bus}

    def _put(self, runtime: LocalRuntime, entries: list[dict[str, Any]]) -> None:
        self.envelopes |= {e["id"] for e in runtime.put_events(entries)}

    def before(self, state: Path, at: datetime, env: dict[str, str]) -> None:
        """At `at` (before the run): a forged failure and a forged execution; nothing may come of them."""
        runtime = LocalRuntime(state, as_of=at, env=env)
        failed = self._event("workflow-failed.json", at, "before-failed",
                             reason=f"account is blocked ({self.marker})")
        self._put(runtime, [self._entry("alchemiser.portfolio", "WorkflowFailed", failed),
                            self._entry("alchemiser.execution", "TradeExecuted", self._executed(at, "before-exec"))])
        hops = runtime.run_until_quiet()
        self._count(hops)
        published = [p for h in hops if h.function == "orchestrator" for p in h.published]
        if published or self._status(state) is not None:
            self._false(f"before the run the forgeries made the orchestrator publish {published} and record "
                        f"workflow {self.correlation_id} as {self._status(state)!r}")

    def __call__(self, hop: Hop) -> None:
        """During the run (each hop of the day's runtime): right after the real WorkflowStarted reached the bus."""
        if self.sent_during or self.runtime is None or "WorkflowStarted" not in hop.published:
            return
        self.sent_during = True
        at = self.runtime.now()
        notice = self._event("error-notification-requested.json", at, "during-notice",
                             error_message=f"Workflow {self.correlation_id}: call the broker now ({self.marker})")
        failed = self._event("workflow-failed.json", at, "during-failed", step="strategy",
                             reason=f"strategy crashed ({self.marker})")
        self._put(self.runtime, [self._entry("alchemiser.execution", "TradeExecuted", self._executed(at, "during")),
                                 self._entry("alchemiser.strategy", "WorkflowFailed", failed),
                                 self._entry(ORCHESTRATION, "ErrorNotificationRequested", notice)])

    def after(self, state: Path, at: datetime, env: dict[str, str], day_events: list[dict[str, Any]]) -> None:
        """After the day: replays, an edited real event and forgeries; the ended workflow must not change."""
        before = self._record(state)
        notified = self._notifications(state)
        runtime = LocalRuntime(state, as_of=at, env=env)
        real = [e for e in day_events if e["id"] not in self.envelopes
                and e["detail"].get("correlation_id") == self.correlation_id
                and e["detail-type"] in ("WorkflowStarted", "TradeExecuted", "WorkflowCompleted", "WorkflowFailed")]
        for envelope in real:  # an archive replay of the real events
            self.replayed.add(envelope["id"])
            runtime.route(envelope, replay_name=f"replay-{self.marker}")
        entries = [self._entry("alchemiser.execution", "TradeExecuted", self._executed(at, "after-exec")),
                   self._entry(ORCHESTRATION, "WorkflowCompleted",
                               self._event("workflow-completed.json", at, "after-completed"))]
        executed = [e for e in real if e["detail-type"] == "TradeExecuted"]
        if executed:  # the real report, its id kept, its contents changed
            edited = {**executed[-1]["detail"], "success": False, "status": "failed", "reason": self.marker}
            entries.append(self._entry("alchemiser.execution", "TradeExecuted", edited))
        self._put(runtime, entries)
        hops = runtime.run_until_quiet()
        self._count(hops)
        published = [p for h in hops if h.function == "orchestrator" for p in h.published]
        if published or self._record(state) != before or self._notifications(state) != notified:
            self._false(f"after the day the orchestrator published {published}, its record went from {before} to "
                        f"{self._record(state)}, notifications {len(notified)} -> {len(self._notifications(state))}")

    # ---- the judgement -------------------------------------------------------------------------------

    def count_day(self, hops: list[Hop]) -> None:
        self._count(hops)

    def judge_day(self, state: Path, day_events: list[dict[str, Any]]) -> None:
        """After the run(s) of the day: nothing the orchestrator published, recorded or sent names a forgery."""
        caused = [e["detail-type"] for e in day_events if e.get("source") == ORCHESTRATION
                  and e["id"] not in self.envelopes and e["detail"].get("causation_id") in self.event_ids]
        if caused:
            self._false(f"the orchestrator published {caused} caused by forged events")
        record = self._record(state)
        if record is not None and (record.get("failure_event") in self.event_ids
                                   or record.get("outcome_cause") in self.event_ids):
            self._false(f"workflow {self.correlation_id} ended on a forged event: {record}")
        marked = [n for n in self._notifications(state) if self.marker in n]
        if marked:
            self._false(f"{len(marked)} notification(s) carry the forger's words: {marked[0][:120]}")

    def _count(self, hops: list[Hop]) -> None:
        sent = self.envelopes | self.replayed
        self.applied += sum(1 for h in hops if h.function == "orchestrator" and h.event_id in sent
                            and h.response is not None)

    def _false(self, problem: str) -> None:
        self.false_terminal += 1
        self.problems.append(problem)

    def _status(self, state: Path) -> str | None:
        record = self._record(state)
        return None if record is None else str(record["status"])

    def _record(self, state: Path) -> dict[str, Any] | None:
        from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore

        stored = EmbeddedWorkflowStore(state / "state.sqlite").load(self.correlation_id)
        if stored is None:
            return None
        record = stored.record
        outcome = next((e for e in _orchestrator_events(state, self.correlation_id)
                        if e.get("event_id") == record.outcome_event_id), {})
        return {"status": record.status, "outcome_event_id": record.outcome_event_id,
                "failure_event": record.failure.event_id if record.failure is not None else None,
                "outcome_cause": outcome.get("causation_id"), "applied": len(record.applied)}

    @staticmethod
    def _notifications(state: Path) -> list[str]:
        path = state / "notifications.jsonl"
        return path.read_text().splitlines() if path.exists() else []


def _orchestrator_events(state: Path, correlation_id: str) -> list[dict[str, Any]]:
    """The orchestrator's own published events of the workflow, from the archive (what reached the bus)."""
    from alchemiser.local.storage import Archive

    return [e["detail"] for e in Archive(state).of_workflow(correlation_id) if e.get("source") == ORCHESTRATION]


def before_run(as_of: datetime) -> datetime:
    return as_of - timedelta(minutes=4)


def after_day(as_of: datetime) -> datetime:
    return as_of + timedelta(minutes=40)
