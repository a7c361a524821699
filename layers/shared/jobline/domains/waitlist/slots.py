"""Slots and their waitlists: what the domain routes call. Another tenant's slot reads as none."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from jobline.core.errors import Conflict, NotFound
from jobline.core.job import Job
from jobline.domains.waitlist import cascade
from jobline.domains.waitlist.records import Audit, audit
from jobline.domains.waitlist.schemas import EntryCreate, SlotCreate, get_waitlist_settings
from jobline.domains.waitlist.tables import Entry, EntryStatus, Slot, SlotStatus
from jobline.runtime import Runtime

MAX_LIST = 1_000


class SlotNotFound(NotFound):
    def __init__(self, slot_id: uuid.UUID) -> None:
        super().__init__(f"slot {slot_id} not found")


class AlreadyWaiting(Conflict):
    def __init__(self, recipient: str) -> None:
        super().__init__(f"{recipient} is already on this slot's waitlist")


class SlotOnOffer(Conflict):
    def __init__(self) -> None:
        super().__init__("the slot is on offer to someone; it frees up when they decline or the hold expires")


@dataclasses.dataclass(frozen=True)
class SlotSummary:
    slot: Slot
    waiting: int


@dataclasses.dataclass(frozen=True)
class Listed:
    """An entry with its place in the queue (1 is offered next; None once it left the queue)."""

    entry: Entry
    position: int | None


def _find(session: Session, slot_id: uuid.UUID, *, tenant_id: str, lock: bool = False) -> Slot:
    query = sa.select(Slot).where(Slot.id == slot_id, Slot.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    slot = session.scalars(query).one_or_none()
    if slot is None:
        raise SlotNotFound(slot_id)
    return slot


def create_slot(runtime: Runtime, body: SlotCreate, *, tenant_id: str) -> Slot:
    """A new slot of the tenant, booked unless the body says it is available."""
    now = runtime.clock()
    hold_minutes = body.hold_minutes or get_waitlist_settings().jobline_waitlist_hold_minutes
    with runtime.sessions.begin() as session:
        slot = Slot(
            tenant_id=tenant_id,
            name=body.name,
            starts_at=body.starts_at.astimezone(dt.UTC) if body.starts_at else None,
            hold_minutes=hold_minutes,
            status=SlotStatus(body.status),
            created_at=now,
        )
        session.add(slot)
        session.flush()
        audit(session, Audit(tenant_id, "slot.created", slot.id, slot.id, {"status": slot.status.value}), at=now)
    return slot


def slot_summary(runtime: Runtime, slot_id: uuid.UUID, *, tenant_id: str) -> SlotSummary:
    """The slot and how many wait for it."""
    with runtime.sessions() as session:
        slot = _find(session, slot_id, tenant_id=tenant_id)
        waiting = session.scalar(
            sa.select(sa.func.count()).where(Entry.slot_id == slot.id, Entry.status == EntryStatus.WAITING)
        )
    return SlotSummary(slot=slot, waiting=int(waiting or 0))


def join_waitlist(runtime: Runtime, slot_id: uuid.UUID, body: EntryCreate, *, tenant_id: str) -> Entry:
    """Put someone on the slot's waitlist; a free slot is offered to them (or whoever comes first) at once."""
    now = runtime.clock()
    recipient = body.recipient()
    assert recipient is not None  # the route checks the channel's address is given
    try:
        with runtime.sessions.begin() as session:
            slot = _find(session, slot_id, tenant_id=tenant_id)
            entry = Entry(
                tenant_id=tenant_id,
                slot_id=slot.id,
                name=body.name,
                channel=body.channel,
                recipient=recipient,
                priority=body.priority,
                status=EntryStatus.WAITING,
                created_at=now,
            )
            session.add(entry)
            session.flush()
            detail = {"priority": body.priority, "channel": body.channel.value}
            audit(session, Audit(tenant_id, "entry.joined", slot.id, entry.id, detail), at=now)
            free = slot.status is SlotStatus.AVAILABLE
    except IntegrityError as exc:
        raise AlreadyWaiting(recipient) from exc
    if free:
        cascade.enqueue_cascade(runtime, tenant_id=tenant_id, slot_id=slot_id)
    return entry


def release_slot(runtime: Runtime, slot_id: uuid.UUID, *, tenant_id: str) -> tuple[Slot, Job | None]:
    """Free a booked slot and queue the cascade that offers it on; SlotOnOffer while an offer is out."""
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        slot = _find(session, slot_id, tenant_id=tenant_id, lock=True)
        if slot.status is SlotStatus.HELD:
            raise SlotOnOffer()
        previous = slot.holder_entry_id
        slot.status, slot.holder_entry_id = SlotStatus.AVAILABLE, None
        detail = {"previousHolder": str(previous) if previous else None}
        audit(session, Audit(tenant_id, "slot.released", slot.id, slot.id, detail), at=now)
    return slot, cascade.enqueue_cascade(runtime, tenant_id=tenant_id, slot_id=slot_id)


def list_entries(
    runtime: Runtime, slot_id: uuid.UUID, *, tenant_id: str, status: EntryStatus | None = None, limit: int = MAX_LIST
) -> list[Listed]:
    """The slot's entries in the order they are offered (priority, then who came first)."""
    # The place in the queue is counted among waiting entries only, before any filter or limit.
    position = sa.func.row_number().over(partition_by=Entry.status, order_by=(Entry.priority.desc(), Entry.joined_seq))
    ranked = (
        sa.select(Entry, position.label("position"))
        .where(Entry.slot_id == slot_id, Entry.tenant_id == tenant_id)
        .subquery()
    )
    entry = aliased(Entry, ranked)
    waiting_first = sa.case((entry.status == EntryStatus.WAITING, 0), else_=1)
    query = sa.select(entry, ranked.c.position).order_by(waiting_first, entry.priority.desc(), entry.joined_seq)
    if status is not None:
        query = query.where(entry.status == status)
    with runtime.sessions() as session:
        _find(session, slot_id, tenant_id=tenant_id)
        rows = session.execute(query.limit(limit)).all()
    return [Listed(row[0], row[1] if row[0].status is EntryStatus.WAITING else None) for row in rows]
