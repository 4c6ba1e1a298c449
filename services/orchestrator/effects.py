"""Carrying out what a terminal transition owes: publish events, store the snapshot, notify.

Ordering, and why a crash at any point loses nothing and duplicates nothing downstream
--------------------------------------------------------------------------------------
1. The event is written to the event log (idempotent; audit only).
2. The transition is ONE conditional write of the workflow record (expected version): the new
   state, the event id in `applied`, and the effects it owes in `pending`, leased to this
   invocation until its Lambda deadline. Two deliveries of the same event (the two rules to the
   orchestrator, retries) race on this write; exactly one wins, the other re-reads and finds the
   event applied.
3. The pending events are published (deterministic ids, fixed by their cause, stored byte for
   byte), then removed from `pending`; then the equity snapshot (an idempotent put); then the
   daily report through the exactly-once claim (notifications.py); each removed once done.
4. A failure in 3 releases the lease and raises: the retry finds the event applied but effects
   still pending and carries them out (same event ids, same claim keys). A hard crash leaves the
   lease to expire at the dead invocation's deadline; the retry, any later event for the workflow,
   or the scheduled check (records with pending effects stay in the open index) then takes over.

So: a crash before 2 changes nothing (the retry redoes it); after 2, the effects are owed and are
done at least once; a publish repeated after a crash between "published" and "removed" carries the
same event id, which the orchestrator records once, and a repeated report or error notification is
stopped by its claim. While another live invocation holds the lease, a duplicate delivery does
nothing (it answers "duplicate") rather than publish a second copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.orchestrator.workflow_record import Effect, Lease, StoredWorkflow
from shared.events.catalog import route_for
from shared.runtime.observability import make_logger

if TYPE_CHECKING:
    from services.orchestrator.notifications import Deliverer
    from services.orchestrator.ports import WorkflowStore
    from shared.events.base import DomainEvent
    from shared.events.publisher import EventPublisher

logger = make_logger("orchestrator")
MAX_ATTEMPTS = 8


class ConcurrentUpdateError(RuntimeError):
    """The record kept changing under us; raised so the invocation is retried."""


@dataclass
class Flushed:
    published: list[str] = field(default_factory=list)
    notified: int = 0
    snapshots: int = 0
    busy: bool = False
    """Another live invocation holds the lease and is carrying the effects out."""

    @property
    def anything(self) -> bool:
        return bool(self.published or self.notified or self.snapshots)


def stored_event(effect: Effect) -> DomainEvent:
    route = route_for(effect.detail_type or "")
    if route is None or effect.detail is None:
        raise ValueError(f"effect {effect.effect_id} has no publishable event")
    event: DomainEvent = route.model.model_validate_json(effect.detail)
    return event


@dataclass
class EffectRunner:
    store: WorkflowStore
    publisher: Callable[[], EventPublisher]
    """Builds this invocation's publisher, once, when there is first something to publish."""
    delivery: Deliverer
    owner: str
    deadline: float
    wall_clock: Callable[[], float]
    context: Any = None
    _built: EventPublisher | None = field(default=None, init=False, repr=False)

    def lease(self) -> Lease:
        return Lease(owner=self.owner, until=self.deadline)

    def flush(self, correlation_id: str) -> Flushed:
        out = Flushed()
        claimed = self._claim(correlation_id, out)
        if claimed is None:
            return out
        pending = claimed.record.pending
        try:
            publish = [e for e in pending if e.kind == "publish"]
            if publish:
                out.published.extend(self._publisher().publish([stored_event(e) for e in publish]))
                self._done(correlation_id, publish)
            for effect in pending:
                if effect.kind == "snapshot" and effect.snapshot is not None:
                    self.store.put_snapshot(effect.snapshot)
                    out.snapshots += 1
                    self._done(correlation_id, [effect])
                elif effect.kind == "notify" and effect.notification is not None:
                    delivered = self.delivery.deliver(effect.notification, context=self.context)
                    out.notified += 0 if delivered.duplicate else 1
                    self._done(correlation_id, [effect])
        except BaseException:
            self._release(correlation_id)
            raise
        return out

    def _publisher(self) -> EventPublisher:
        if self._built is None:
            self._built = self.publisher()
        return self._built

    def _claim(self, correlation_id: str, out: Flushed) -> StoredWorkflow | None:
        for _ in range(MAX_ATTEMPTS):
            stored = self.store.load(correlation_id)
            if stored is None or not stored.record.pending:
                return None
            lease = stored.record.lease
            if lease is not None and lease.owner == self.owner:
                return stored
            if lease is not None and lease.until > self.wall_clock():
                out.busy = True
                return None
            claimed = stored.record.model_copy(update={"lease": self.lease()})
            if self.store.save(claimed, expected_version=stored.version):
                if lease is not None:
                    logger.warning("took over pending effects of workflow %s from %s (lease expired)",
                                   correlation_id, lease.owner)
                return StoredWorkflow(record=claimed, version=stored.version + 1)
        raise ConcurrentUpdateError(f"workflow {correlation_id}: could not claim its pending effects")

    def _done(self, correlation_id: str, effects: Iterable[Effect]) -> None:
        done = {e.effect_id for e in effects}
        for _ in range(MAX_ATTEMPTS):
            stored = self.store.load(correlation_id)
            if stored is None:
                return
            pending = tuple(e for e in stored.record.pending if e.effect_id not in done)
            update: dict[str, Any] = {"pending": pending}
            if not pending:
                update["lease"] = None
            if self.store.save(stored.record.model_copy(update=update), expected_version=stored.version):
                return
        raise ConcurrentUpdateError(f"workflow {correlation_id}: could not mark effects done")

    def _release(self, correlation_id: str) -> None:
        """Best effort: let a retry take over at once instead of waiting for the lease to expire."""
        try:
            for _ in range(MAX_ATTEMPTS):
                stored = self.store.load(correlation_id)
                lease = None if stored is None else stored.record.lease
                if stored is None or lease is None or lease.owner != self.owner:
                    return
                if self.store.save(stored.record.model_copy(update={"lease": None}),
                                   expected_version=stored.version):
                    return
        except Exception:
            logger.exception("could not release the lease on workflow %s", correlation_id)
