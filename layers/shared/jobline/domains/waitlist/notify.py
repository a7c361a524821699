"""Waitlist notifications: written with the change they announce, sent by a job, re-sent on demand.

Timeline of one offer notification:

    cascade tx: hold + notification (pending) ─▶ commit ─▶ enqueue send-notification
    send job:   lock notification ─▶ new token on the hold ─▶ SES/SNS ─▶ sent, commit
                                                               └─▶ ChannelError: attempts + 1,
                                       pending (the job retries after 1 s, 2 s, 4 s) or, on the
                                       last attempt, failed and audited ─▶ commit, re-raise
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobline.core.errors import EnqueueFailed
from jobline.core.job import Job
from jobline.domains.notifications import channels
from jobline.domains.waitlist import tokens
from jobline.domains.waitlist.queues import NOTIFICATIONS
from jobline.domains.waitlist.records import Audit, audit
from jobline.domains.waitlist.schemas import get_waitlist_settings
from jobline.domains.waitlist.tables import (
    Channel,
    Entry,
    Hold,
    Notification,
    NotificationKind,
    NotificationStatus,
    Slot,
)
from jobline.engine.enqueue import enqueue
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

SEND_JOB = "send-notification"
RETRY_JOB = "retry-notifications"
# Where an offer's link goes: the link holds the token, which is made only at send time.
LINK = "{offer_link}"
# A pending notification this old has lost its send job (an enqueue failed, a worker died).
STUCK_AFTER = dt.timedelta(minutes=5)
RETRY_BATCH = 500
MAX_ERROR_CHARS = 2_000


def _compose(kind: NotificationKind, *, slot: Slot, entry: Entry, hold: Hold | None) -> tuple[str, str]:
    if kind is NotificationKind.CONFIRMATION:
        return f"Booked: {slot.name}", f"Hello {entry.name}, {slot.name} is yours."
    assert hold is not None  # an offer always belongs to a hold
    until = f"{hold.expires_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    if entry.channel is Channel.SMS:
        return f"A place is free: {slot.name}", f"{slot.name}: a place is free for you until {until}. Answer: {LINK}"
    body = (
        f"Hello {entry.name},\n\nA place is free for {slot.name}, held for you until {until}.\n\n"
        f"Accept or decline it here: {LINK}\n"
    )
    return f"A place is free: {slot.name}", body


def offer_link(token: str) -> str:
    """The offer page's address with the token."""
    return f"{get_waitlist_settings().jobline_waitlist_offer_url}?token={token}"


def add_notification(
    session: Session, kind: NotificationKind, *, slot: Slot, entry: Entry, at: dt.datetime, hold: Hold | None = None
) -> Notification:
    """A pending notification to the entry, written in the caller's transaction."""
    subject, body = _compose(kind, slot=slot, entry=entry, hold=hold)
    notification = Notification(
        tenant_id=slot.tenant_id,
        slot_id=slot.id,
        entry_id=entry.id,
        hold_id=hold.id if hold else None,
        kind=kind,
        channel=entry.channel,
        recipient=entry.recipient,
        subject=subject,
        body=body,
        status=NotificationStatus.PENDING,
        attempts=0,
        created_at=at,
    )
    session.add(notification)
    session.flush()
    return notification


def enqueue_send(runtime: Runtime, *, tenant_id: str, notification_id: uuid.UUID) -> Job | None:
    """Queue the sending; None if the queue could not be reached (`retry_notifications` picks it up later)."""
    try:
        return enqueue(
            runtime,
            queue=NOTIFICATIONS,
            name=SEND_JOB,
            data={"notificationId": str(notification_id)},
            tenant_id=tenant_id,
        ).job
    except EnqueueFailed:
        logger.exception("notification not queued", extra={"tenant_id": tenant_id, "notification_id": notification_id})
        return None


def _deliver(runtime: Runtime, notification: Notification, text: str) -> None:
    if notification.channel is Channel.EMAIL:
        channels.send_email(runtime, to=notification.recipient, subject=notification.subject, text=text)
    else:
        channels.send_sms(runtime, phone=notification.recipient, text=text)


def _locked(session: Session, notification_id: uuid.UUID, *, tenant_id: str) -> Notification | None:
    """The tenant's notification, its row locked until the transaction ends (None when there is none)."""
    return session.scalars(
        sa.select(Notification)
        .where(Notification.id == notification_id, Notification.tenant_id == tenant_id)
        .with_for_update()
    ).one_or_none()


def send_notification(
    runtime: Runtime, notification_id: uuid.UUID, *, tenant_id: str, final_attempt: bool
) -> NotificationStatus | None:
    """Send one notification; raises ChannelError after recording a failed send (as `failed` on the final attempt).

    Returns the status it ends in, None for a notification that is gone. The row stays locked
    through the send, so two deliveries of one notification never both send it.
    """
    now = runtime.clock()
    failure: channels.ChannelError | None = None
    with runtime.sessions.begin() as session:
        notification = _locked(session, notification_id, tenant_id=tenant_id)
        if notification is None or notification.status in (NotificationStatus.SENT, NotificationStatus.CANCELLED):
            return notification.status if notification else None
        text = notification.body
        if notification.kind is NotificationKind.OFFER:
            token = tokens.issue_token(session, hold_id=notification.hold_id, now=now) if notification.hold_id else None
            if token is None:
                notification.status = NotificationStatus.CANCELLED
                notification.last_error = "the offer closed before it could be sent"
                _audit(session, notification, "notification.cancelled", at=now)
                return notification.status
            text = text.replace(LINK, offer_link(token))
        notification.attempts += 1
        try:
            _deliver(runtime, notification, text)
        except channels.ChannelError as exc:
            failure = exc
            notification.last_error = str(exc)[:MAX_ERROR_CHARS]
            # Pending while the job system retries it; failed, and audited, once it gives up.
            notification.status = NotificationStatus.FAILED if final_attempt else NotificationStatus.PENDING
            if final_attempt:
                detail = {"attempts": notification.attempts, "error": notification.last_error}
                _audit(session, notification, "notification.failed", at=now, **detail)
        else:
            notification.status, notification.sent_at, notification.last_error = NotificationStatus.SENT, now, None
            _audit(session, notification, "notification.sent", at=now, attempts=notification.attempts)
        status = notification.status
    if failure is not None:
        raise failure
    return status


def _audit(session: Session, notification: Notification, action: str, *, at: dt.datetime, **detail: object) -> None:
    detail = {"channel": notification.channel.value, **detail}
    audit(session, Audit(notification.tenant_id, action, notification.slot_id, notification.id, detail), at=at)


def retry_notifications(runtime: Runtime, *, tenant_id: str | None = None) -> int:
    """Put failed notifications back to pending and queue a send for them and for stuck pending ones.

    Every tenant unless one is named; returns how many sends were queued.
    """
    now = runtime.clock()
    scope = [] if tenant_id is None else [Notification.tenant_id == tenant_id]
    failed = (
        sa.select(Notification.id)
        .where(Notification.status == NotificationStatus.FAILED, *scope)
        .order_by(Notification.created_at)
        .limit(RETRY_BATCH)
        .with_for_update(skip_locked=True)
    )
    with runtime.sessions.begin() as session:
        # Stuck ones first: the failed ones turn pending below and must not be counted twice.
        stuck = session.execute(
            sa.select(Notification.id, Notification.tenant_id, Notification.slot_id)
            .where(Notification.status == NotificationStatus.PENDING, Notification.created_at < now - STUCK_AFTER)
            .where(*scope)
            .order_by(Notification.created_at)
            .limit(RETRY_BATCH)
        ).all()
        revived = session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(failed.scalar_subquery()))
            .values(status=NotificationStatus.PENDING)
            .returning(Notification.id, Notification.tenant_id, Notification.slot_id)
        ).all()
        audit(session, *(Audit(r.tenant_id, "notification.retried", r.slot_id, r.id) for r in revived), at=now)
    queued = 0
    for row in [*revived, *stuck]:
        if enqueue_send(runtime, tenant_id=row.tenant_id, notification_id=row.id) is not None:
            queued += 1
    return queued


def notification_status(runtime: Runtime, notification_id: uuid.UUID, *, tenant_id: str) -> NotificationStatus | None:
    """The status of the tenant's notification; None when it has none with this id."""
    with runtime.sessions() as session:
        return session.scalars(
            sa.select(Notification.status).where(
                Notification.id == notification_id, Notification.tenant_id == tenant_id
            )
        ).one_or_none()


def retry_notification(runtime: Runtime, notification_id: uuid.UUID, *, tenant_id: str) -> NotificationStatus | None:
    """Re-send one notification of the tenant: a failed one turns pending, and a pending one (its send may be
    lost) is queued again; a sent or cancelled one is left alone. Returns the status it was found in."""
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        notification = _locked(session, notification_id, tenant_id=tenant_id)
        if notification is None:
            return None
        found = notification.status
        if found is NotificationStatus.FAILED:
            notification.status = NotificationStatus.PENDING
            audit(session, Audit(tenant_id, "notification.retried", notification.slot_id, notification.id), at=now)
    # Two sends of one pending notification are harmless: the first locks and sends it, the second finds it sent.
    if found in (NotificationStatus.FAILED, NotificationStatus.PENDING):
        # Raised, not swallowed as enqueue_send does: this job's retry is what re-queues the send.
        enqueue(
            runtime,
            queue=NOTIFICATIONS,
            name=SEND_JOB,
            data={"notificationId": str(notification_id)},
            tenant_id=tenant_id,
        )
    return found
