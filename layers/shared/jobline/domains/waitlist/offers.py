"""Answers to an offer: accept (the slot is booked) or decline (the slot cascades on), each once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import sqlalchemy as sa

from jobline.core.errors import Conflict, NotFound
from jobline.domains.waitlist import cascade, notify, tokens
from jobline.domains.waitlist.records import Audit, audit
from jobline.domains.waitlist.tables import Entry, EntryStatus, Hold, HoldStatus, NotificationKind, Slot, SlotStatus
from jobline.runtime import Runtime


class OfferNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no offer has this token")


class OfferClosed(Conflict):
    """The offer was answered already, or ran out: a token works once, and only in time."""

    def __init__(self, state: str) -> None:
        super().__init__(f"this offer is no longer open: it {state}")
        self.state = state


@dataclasses.dataclass(frozen=True)
class Answer:
    """What answering an offer did."""

    slot_id: uuid.UUID
    slot_name: str
    status: HoldStatus
    job_id: str | None  # the follow-up: a confirmation (accept) or the next cascade (decline)


def _closed_state(hold: Hold, now: dt.datetime) -> str | None:
    if hold.status is not HoldStatus.ACTIVE:
        return f"was {hold.status.value}"
    if hold.expires_at <= now:
        return "expired"
    return None


def answer_offer(runtime: Runtime, token: str, *, accept: bool) -> Answer:
    """Accept (the slot is booked for the entry) or decline (the slot cascades on) the offer of `token`."""
    now = runtime.clock()
    action = HoldStatus.ACCEPTED if accept else HoldStatus.DECLINED
    with runtime.sessions.begin() as session:
        found = tokens.find_hold(session, token)
        if found is None:
            raise OfferNotFound()
        # Slot, then hold, then entry: the order every writer takes, so none deadlocks another.
        slot = session.scalars(
            sa.select(Slot).where(Slot.id == found.slot_id, Slot.tenant_id == found.tenant_id).with_for_update()
        ).one()
        # populate_existing: the hold read above may be stale by the time the lock is ours.
        hold = session.scalars(
            sa.select(Hold).where(Hold.id == found.id).with_for_update().execution_options(populate_existing=True)
        ).one()
        closed = _closed_state(hold, now)
        if closed is not None:
            raise OfferClosed(closed)
        entry = session.scalars(sa.select(Entry).where(Entry.id == hold.entry_id).with_for_update()).one()
        hold.status, hold.resolved_at = action, now
        if accept:
            entry.status = EntryStatus.ACCEPTED
            slot.status, slot.holder_entry_id = SlotStatus.BOOKED, entry.id
            confirmation = notify.add_notification(
                session, NotificationKind.CONFIRMATION, slot=slot, entry=entry, at=now
            )
        else:
            entry.status = EntryStatus.DECLINED
            slot.status, slot.holder_entry_id = SlotStatus.AVAILABLE, None
        audit(
            session,
            Audit(slot.tenant_id, f"hold.{action.value}", slot.id, hold.id, {"entryId": str(entry.id)}),
            at=now,
        )
        tenant_id, slot_id, slot_name = slot.tenant_id, slot.id, slot.name
    if accept:
        job = notify.enqueue_send(runtime, tenant_id=tenant_id, notification_id=confirmation.id)
    else:
        job = cascade.enqueue_cascade(runtime, tenant_id=tenant_id, slot_id=slot_id)
    return Answer(slot_id=slot_id, slot_name=slot_name, status=action, job_id=job.id if job else None)
