"""Waitlist test data written straight through the domain services (the routes have their own tests)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from jobline.domains.waitlist import slots
from jobline.domains.waitlist.schemas import EntryCreate, SlotCreate
from jobline.domains.waitlist.tables import Entry, Hold, HoldStatus, Notification


def new_slot(
    rt: Any, tenant: str, *, status: str = "booked", hold_minutes: int = 15, name: str = "Court 1"
) -> uuid.UUID:
    body = SlotCreate(name=name, holdMinutes=hold_minutes, status=status)
    return slots.create_slot(rt, body, tenant_id=tenant).id


def new_entry(rt: Any, tenant: str, slot_id: uuid.UUID, name: str, *, priority: int = 0, **contact: str) -> Entry:
    body = EntryCreate(name=name, priority=priority, **(contact or {"email": f"{name}@example.com"}))
    return slots.join_waitlist(rt, slot_id, body, tenant_id=tenant)


def holds_of(rt: Any, slot_id: uuid.UUID, *, status: HoldStatus | None = None) -> list[Hold]:
    query = sa.select(Hold).where(Hold.slot_id == slot_id).order_by(Hold.created_at)
    if status is not None:
        query = query.where(Hold.status == status)
    with rt.sessions() as session:
        return list(session.scalars(query))


def notifications_of(rt: Any, slot_id: uuid.UUID) -> list[Notification]:
    with rt.sessions() as session:
        return list(
            session.scalars(sa.select(Notification).where(Notification.slot_id == slot_id).order_by(Notification.id))
        )


def entry_status(rt: Any, entry_id: uuid.UUID) -> str:
    with rt.sessions() as session:
        return session.get(Entry, entry_id).status.value
