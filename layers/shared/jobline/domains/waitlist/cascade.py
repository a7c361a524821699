"""The offer cascade: a free slot goes on hold for the next waiting entry; expired holds free theirs.

Every writer locks in one order, slot, then hold, then entry, so none deadlocks another.
Two cascades of one slot queue on the slot's row lock; the second finds the slot held
and offers nothing. The partial unique index on active holds backs this up in the schema.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobline.core.errors import EnqueueFailed
from jobline.core.job import Job
from jobline.domains.waitlist import notify
from jobline.domains.waitlist.queues import CASCADE
from jobline.domains.waitlist.records import Audit, audit
from jobline.domains.waitlist.tables import Entry, EntryStatus, Hold, HoldStatus, NotificationKind, Slot, SlotStatus
from jobline.engine.enqueue import enqueue
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

JOB = "cascade"
# Slots whose holds one transaction expires; a larger backlog takes several.
EXPIRE_BATCH = 500
# Free slots with people waiting that one sweep cascades.
SWEEP_BATCH = 500


@dataclasses.dataclass(frozen=True)
class Previous:
    """Who had the slot before a cascade, and why they no longer do (seed 003's cascade data)."""

    entry_id: uuid.UUID
    reason: HoldStatus  # DECLINED or EXPIRED


@dataclasses.dataclass(frozen=True)
class Offer:
    """One hold made by the cascade, and the notification that announces it."""

    tenant_id: str
    slot_id: uuid.UUID
    entry_id: uuid.UUID
    hold_id: uuid.UUID
    notification_id: uuid.UUID
    expires_at: dt.datetime


def offer_next(
    session: Session, *, tenant_id: str, slot_id: uuid.UUID, now: dt.datetime, skip: uuid.UUID | None = None
) -> Offer | None:
    """In the caller's transaction: hold the slot for its next waiting entry (never `skip`), if it is free and
    someone waits."""
    slot = session.scalars(
        sa.select(Slot)
        .where(Slot.id == slot_id, Slot.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if slot is None or slot.status is not SlotStatus.AVAILABLE:
        return None
    not_skipped = [] if skip is None else [Entry.id != skip]
    entry = session.scalars(
        sa.select(Entry)
        .where(Entry.slot_id == slot.id, Entry.tenant_id == tenant_id, Entry.status == EntryStatus.WAITING)
        .where(*not_skipped)
        .order_by(Entry.priority.desc(), Entry.joined_seq)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).one_or_none()
    if entry is None:
        return None
    hold = Hold(
        tenant_id=tenant_id,
        slot_id=slot.id,
        entry_id=entry.id,
        status=HoldStatus.ACTIVE,
        expires_at=now + dt.timedelta(minutes=slot.hold_minutes),
        created_at=now,
    )
    session.add(hold)
    entry.status = EntryStatus.OFFERED
    slot.status, slot.holder_entry_id = SlotStatus.HELD, entry.id
    session.flush()
    notification = notify.add_notification(session, NotificationKind.OFFER, slot=slot, entry=entry, hold=hold, at=now)
    detail = {"entryId": str(entry.id), "expiresAt": hold.expires_at.isoformat()}
    audit(session, Audit(tenant_id, "hold.offered", slot.id, hold.id, detail), at=now)
    return Offer(tenant_id, slot.id, entry.id, hold.id, notification.id, hold.expires_at)


def close_previous_hold(
    session: Session, *, tenant_id: str, slot_id: uuid.UUID, previous: Previous, now: dt.datetime
) -> uuid.UUID | None:
    """In the caller's transaction: end the previous entry's open hold on the slot as declined or expired,
    freeing the slot; returns the hold closed, None if the entry held nothing (answered or expired already)."""
    # Slot, then hold, then entry: the order every writer takes.
    slot = session.scalars(
        sa.select(Slot).where(Slot.id == slot_id, Slot.tenant_id == tenant_id).with_for_update()
    ).one_or_none()
    if slot is None:
        return None
    hold = session.scalars(
        sa.select(Hold)
        .where(Hold.slot_id == slot.id, Hold.entry_id == previous.entry_id, Hold.status == HoldStatus.ACTIVE)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if hold is None:
        return None
    entry = session.scalars(sa.select(Entry).where(Entry.id == hold.entry_id).with_for_update()).one()
    hold.status, hold.resolved_at = previous.reason, now
    entry.status = EntryStatus(previous.reason.value)
    slot.status, slot.holder_entry_id = SlotStatus.AVAILABLE, None
    detail = {"entryId": str(entry.id), "by": "cascade"}
    audit(session, Audit(tenant_id, f"hold.{previous.reason.value}", slot.id, hold.id, detail), at=now)
    return hold.id


@dataclasses.dataclass(frozen=True)
class Handover:
    """What a cascade from a previous entry did: the hold it closed (if one was open) and the offer it made."""

    closed_hold_id: uuid.UUID | None
    offer: Offer | None


def hand_over(runtime: Runtime, *, tenant_id: str, slot_id: uuid.UUID, previous: Previous | None) -> Handover:
    """Offer the slot to its next waiting entry and queue the offer's notification.

    With `previous`, that entry's open hold on the slot (if any) is closed for its reason first, in the
    same transaction, and this cascade never offers the slot back to that entry.
    """
    now = runtime.clock()
    closed = None
    with runtime.sessions.begin() as session:
        if previous is not None:
            closed = close_previous_hold(session, tenant_id=tenant_id, slot_id=slot_id, previous=previous, now=now)
        skip = previous.entry_id if previous else None
        offer = offer_next(session, tenant_id=tenant_id, slot_id=slot_id, now=now, skip=skip)
    if offer is not None:
        logger.info("slot offered", extra={"tenant_id": tenant_id, "slot_id": slot_id, "hold_id": offer.hold_id})
        notify.enqueue_send(runtime, tenant_id=tenant_id, notification_id=offer.notification_id)
    return Handover(closed_hold_id=closed, offer=offer)


def cascade_slot(runtime: Runtime, *, tenant_id: str, slot_id: uuid.UUID) -> Offer | None:
    """Offer the slot to its next waiting entry and queue the offer's notification; None if no offer was due."""
    return hand_over(runtime, tenant_id=tenant_id, slot_id=slot_id, previous=None).offer


def entry_of_slot(runtime: Runtime, entry_id: uuid.UUID, *, slot_id: uuid.UUID, tenant_id: str) -> bool:
    """Whether the entry is on the tenant's slot's waitlist."""
    with runtime.sessions() as session:
        found = session.scalar(
            sa.select(Entry.id).where(Entry.id == entry_id, Entry.slot_id == slot_id, Entry.tenant_id == tenant_id)
        )
    return found is not None


def waiting_free_slots(session: Session, *, tenant_id: str | None) -> list[tuple[str, uuid.UUID]]:
    """(tenant, slot) of free slots that someone waits for: each should be offered."""
    waiting = sa.exists().where(Entry.slot_id == Slot.id, Entry.status == EntryStatus.WAITING)
    query = sa.select(Slot.tenant_id, Slot.id).where(Slot.status == SlotStatus.AVAILABLE, waiting)
    if tenant_id is not None:
        query = query.where(Slot.tenant_id == tenant_id)
    return [(row.tenant_id, row.id) for row in session.execute(query.order_by(Slot.id).limit(SWEEP_BATCH))]


def cascade_tenant(runtime: Runtime, *, tenant_id: str) -> list[Offer]:
    """Offer every free slot of the tenant that someone waits for."""
    with runtime.sessions() as session:
        slots = waiting_free_slots(session, tenant_id=tenant_id)
    offers = [cascade_slot(runtime, tenant_id=tenant_id, slot_id=slot_id) for _, slot_id in slots]
    return [offer for offer in offers if offer is not None]


def enqueue_cascade(runtime: Runtime, *, tenant_id: str, slot_id: uuid.UUID) -> Job | None:
    """Queue a cascade of the slot; None if the queue could not be reached (the per-minute sweep finds the slot)."""
    try:
        return enqueue(runtime, queue=CASCADE, name=JOB, data={"slotId": str(slot_id)}, tenant_id=tenant_id).job
    except EnqueueFailed:
        logger.exception("cascade not queued", extra={"tenant_id": tenant_id, "slot_id": slot_id})
        return None


def _expire_batch(session: Session, *, tenant_id: str | None, now: dt.datetime) -> tuple[int, int]:
    """Expire the due holds of up to EXPIRE_BATCH slots; returns (slots locked, holds expired)."""
    due = sa.select(Hold.slot_id).where(Hold.status == HoldStatus.ACTIVE, Hold.expires_at <= now)
    if tenant_id is not None:
        due = due.where(Hold.tenant_id == tenant_id)
    # SKIP LOCKED: a slot being answered or cascaded right now is left for the next run.
    slot_ids = session.scalars(
        sa.select(Slot.id)
        .where(Slot.id.in_(due))
        .order_by(Slot.id)
        .limit(EXPIRE_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    if not slot_ids:
        return 0, 0
    expired = session.execute(
        sa.update(Hold)
        .where(Hold.slot_id.in_(slot_ids), Hold.status == HoldStatus.ACTIVE, Hold.expires_at <= now)
        .values(status=HoldStatus.EXPIRED, resolved_at=now)
        .returning(Hold.id, Hold.tenant_id, Hold.slot_id, Hold.entry_id)
    ).all()
    session.execute(
        sa.update(Entry)
        .where(Entry.id.in_([row.entry_id for row in expired]), Entry.status == EntryStatus.OFFERED)
        .values(status=EntryStatus.EXPIRED)
    )
    session.execute(
        sa.update(Slot)
        .where(Slot.id.in_([row.slot_id for row in expired]), Slot.status == SlotStatus.HELD)
        .values(status=SlotStatus.AVAILABLE, holder_entry_id=None)
    )
    lines = (Audit(r.tenant_id, "hold.expired", r.slot_id, r.id, {"entryId": str(r.entry_id)}) for r in expired)
    audit(session, *lines, at=now)
    return len(slot_ids), len(expired)


def release_expired_holds(runtime: Runtime, *, tenant_id: str | None = None) -> int:
    """Expire every hold past its time (every tenant unless one is named), then queue a cascade for each
    free slot someone waits for; returns how many holds expired."""
    now = runtime.clock()
    total = 0
    while True:
        with runtime.sessions.begin() as session:
            locked, expired = _expire_batch(session, tenant_id=tenant_id, now=now)
        total += expired
        if locked < EXPIRE_BATCH:
            break
    # The sweep covers the slots just freed, and any whose cascade was lost (an enqueue that failed).
    with runtime.sessions() as session:
        slots = waiting_free_slots(session, tenant_id=tenant_id)
    queued = sum(enqueue_cascade(runtime, tenant_id=t, slot_id=s) is not None for t, s in slots)
    logger.info("expired holds released", extra={"tenant_id": tenant_id, "expired": total, "cascades": queued})
    return total
