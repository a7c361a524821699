"""The waitlist's job types: cascade, expired holds, notifications (send and retry), cleanup.

`functions/waitlist_worker` and `functions/notifier` import this module so the types
register; so does the API, which enqueues cascades and sends.
"""

from __future__ import annotations

from typing import Any

from jobline.core.context import JobContext
from jobline.core.errors import UnrecoverableError
from jobline.core.registry import job_type
from jobline.domains.waitlist import cascade, notify, records
from jobline.domains.waitlist.cascade import Offer, Previous
from jobline.domains.waitlist.queues import CASCADE, CLEANUP, EXPIRED_HOLDS, NOTIFICATIONS, WAITLIST_QUEUES
from jobline.domains.waitlist.schemas import (
    CascadePayload,
    CleanupPayload,
    ReleaseExpiredPayload,
    RetryNotificationsPayload,
    SendNotificationPayload,
)
from jobline.domains.waitlist.tables import HoldStatus, NotificationStatus
from jobline.engine import operations

RELEASE_EXPIRED_JOB = "release-expired-holds"
CLEANUP_JOB = "nightly-cleanup"


def _offer_view(offer: Offer) -> dict[str, Any]:
    return {
        "slotId": str(offer.slot_id),
        "entryId": str(offer.entry_id),
        "holdId": str(offer.hold_id),
        "notificationId": str(offer.notification_id),
        "expiresAt": offer.expires_at.isoformat(),
    }


def _previous(payload: CascadePayload) -> Previous | None:
    if payload.previous_entry_id is None:
        return None
    # Without a reason the previous entry is taken to have declined: it let the slot go either way.
    return Previous(entry_id=payload.previous_entry_id, reason=HoldStatus(payload.reason or "declined"))


@job_type(CASCADE, cascade.JOB, payload=CascadePayload)
def run_cascade(payload: CascadePayload, ctx: JobContext) -> dict[str, Any]:
    """Offer the named slot (after closing the previous entry's hold, when named), or every free slot of the
    tenant that someone waits for."""
    if payload.slot_id is None:
        offers = cascade.cascade_tenant(ctx.runtime, tenant_id=ctx.tenant_id)
        ctx.log(f"{len(offers)} offers made")
        return {"offers": [_offer_view(offer) for offer in offers]}
    previous = _previous(payload)
    if previous is not None and not cascade.entry_of_slot(
        ctx.runtime, previous.entry_id, slot_id=payload.slot_id, tenant_id=ctx.tenant_id
    ):
        # The API refuses this up front; data enqueued some other way is refused here, without retries.
        raise UnrecoverableError("previousEntryId is not an entry of this slot")
    handover = cascade.hand_over(ctx.runtime, tenant_id=ctx.tenant_id, slot_id=payload.slot_id, previous=previous)
    offers = [handover.offer] if handover.offer is not None else []
    ctx.log(f"{len(offers)} offers made")
    result: dict[str, Any] = {"slotId": str(payload.slot_id), "offers": [_offer_view(offer) for offer in offers]}
    if previous is not None:
        closed = handover.closed_hold_id
        result["previous"] = {
            "entryId": str(previous.entry_id),
            "reason": previous.reason.value,
            "closedHoldId": str(closed) if closed else None,
        }
    return result


@job_type(EXPIRED_HOLDS, RELEASE_EXPIRED_JOB, payload=ReleaseExpiredPayload)
def run_release_expired_holds(payload: ReleaseExpiredPayload, ctx: JobContext) -> dict[str, int]:
    """Expire due holds of every tenant, or of the job's tenant when the data names it, and cascade."""
    # Expiring what is overdue anyway is harmless across tenants; aiming at another one is not allowed.
    if payload.tenant_id is not None and payload.tenant_id != ctx.tenant_id:
        raise UnrecoverableError("tenantId may only name the job's own tenant")
    return {"released": cascade.release_expired_holds(ctx.runtime, tenant_id=payload.tenant_id)}


@job_type(NOTIFICATIONS, notify.SEND_JOB, payload=SendNotificationPayload)
def run_send_notification(payload: SendNotificationPayload, ctx: JobContext) -> dict[str, Any]:
    """Send one notification; the last attempt's failure marks it failed before the job fails."""
    final = ctx.attempt >= ctx.job.max_attempts
    status = notify.send_notification(
        ctx.runtime, payload.notification_id, tenant_id=ctx.tenant_id, final_attempt=final
    )
    return {"notificationId": str(payload.notification_id), "status": status.value if status else "missing"}


@job_type(NOTIFICATIONS, notify.RETRY_JOB, payload=RetryNotificationsPayload)
def run_retry_notifications(payload: RetryNotificationsPayload, ctx: JobContext) -> dict[str, Any]:
    """Re-send the named notification, or the tenant's failed ones and pending ones whose send was lost."""
    if payload.notification_id is None:
        queued = notify.retry_notifications(ctx.runtime, tenant_id=ctx.tenant_id)
        ctx.log(f"{queued} sends queued")
        return {"queued": queued}
    found = notify.retry_notification(ctx.runtime, payload.notification_id, tenant_id=ctx.tenant_id)
    if found is None:
        raise UnrecoverableError("notificationId names no notification of this tenant")
    queued = int(found in (NotificationStatus.FAILED, NotificationStatus.PENDING))
    return {"notificationId": str(payload.notification_id), "previousStatus": found.value, "queued": queued}


@job_type(CLEANUP, CLEANUP_JOB, payload=CleanupPayload)
def run_cleanup(payload: CleanupPayload, ctx: JobContext) -> dict[str, int]:
    """The tenant's notifications and audit logs past retention, and waitlist job records past their queue's."""
    # Only the job's tenant: the retention is the caller's to choose, other tenants' records are not.
    removed = records.cleanup_old_records(ctx.runtime, retention_days=payload.retention_days, tenant_id=ctx.tenant_id)
    removed["jobs"] = sum(operations.apply_retention(ctx.runtime, queue) for queue in WAITLIST_QUEUES)
    return removed
