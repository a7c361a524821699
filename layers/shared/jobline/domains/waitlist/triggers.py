"""What the job-management routes check before they queue a waitlist job (seed 003's triggers).

The job would refuse bad data too, but only later and as a failed job: here the data is
parsed as the job's payload, and every slot, entry, notification and tenant it names must
be the caller's, so the caller gets a 4xx naming the field. Another tenant's rows read as
none, in the same words as missing ones: the answer never tells that they exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from jobline.core.errors import Conflict, InvalidPayload, JoblineError
from jobline.domains.waitlist import cascade, jobs, notify, queues
from jobline.domains.waitlist.schemas import CascadePayload, ReleaseExpiredPayload, RetryNotificationsPayload
from jobline.domains.waitlist.tables import NotificationStatus, Slot
from jobline.runtime import Runtime

# The job each trigger enqueues, by the trigger's name in its route: (queue, job name).
TRIGGERS: dict[str, tuple[str, str]] = {
    "expired-holds": (queues.EXPIRED_HOLDS, jobs.RELEASE_EXPIRED_JOB),
    "cascade": (queues.CASCADE, cascade.JOB),
    "notifications": (queues.NOTIFICATIONS, notify.RETRY_JOB),
    "cleanup": (queues.CLEANUP, jobs.CLEANUP_JOB),
}


class TriggerRefused(JoblineError):
    """The data names something the caller may not act on; `field` is the payload field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotificationClosed(Conflict):
    """A retry of a notification that needs none: it was sent, or its offer closed before it could be."""

    def __init__(self, status: NotificationStatus) -> None:
        super().__init__(f"the notification was {status.value}; only failed or pending ones are retried")
        self.status = status


def parse[M: BaseModel](model: type[M], data: dict[str, Any]) -> M:
    """The data as the job's payload model; InvalidPayload (422 naming the fields) otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidPayload(exc.errors(include_url=False, include_context=False)) from exc


def slot_exists(runtime: Runtime, slot_id: uuid.UUID, *, tenant_id: str) -> bool:
    """Whether the tenant has this slot."""
    with runtime.sessions() as session:
        found = session.scalar(sa.select(Slot.id).where(Slot.id == slot_id, Slot.tenant_id == tenant_id))
    return found is not None


def check_cascade(runtime: Runtime, data: dict[str, Any], *, tenant_id: str) -> None:
    """`{slotId, previousEntryId, reason}`: the slot is the tenant's, the previous entry is on its waitlist."""
    payload = parse(CascadePayload, data)
    if payload.slot_id is None:
        return  # every free slot of the tenant
    if not slot_exists(runtime, payload.slot_id, tenant_id=tenant_id):
        raise TriggerRefused("slotId", "no slot has this id")
    previous = payload.previous_entry_id
    if previous is not None and not cascade.entry_of_slot(
        runtime, previous, slot_id=payload.slot_id, tenant_id=tenant_id
    ):
        raise TriggerRefused("previousEntryId", "no entry on this slot's waitlist has this id")


def check_notification_retry(runtime: Runtime, data: dict[str, Any], *, tenant_id: str) -> None:
    """`{notificationId}`: the tenant's notification, failed or pending (409 when sent or cancelled)."""
    payload = parse(RetryNotificationsPayload, data)
    if payload.notification_id is None:
        return  # every failed and stuck notification of the tenant
    status = notify.notification_status(runtime, payload.notification_id, tenant_id=tenant_id)
    if status is None:
        raise TriggerRefused("notificationId", "no notification has this id")
    if status not in (NotificationStatus.FAILED, NotificationStatus.PENDING):
        raise NotificationClosed(status)


def check_expired_holds(runtime: Runtime, data: dict[str, Any], *, tenant_id: str) -> None:
    """`{tenantId?}`: only the caller's own tenant may be named."""
    payload = parse(ReleaseExpiredPayload, data)
    if payload.tenant_id is not None and payload.tenant_id != tenant_id:
        raise TriggerRefused("tenantId", "may only name your own tenant")


# Job name → its check; a job without one (the cleanup) is checked by enqueue against its payload model.
CHECKS: dict[str, Callable[..., None]] = {
    cascade.JOB: check_cascade,
    notify.RETRY_JOB: check_notification_retry,
    jobs.RELEASE_EXPIRED_JOB: check_expired_holds,
}


def check(runtime: Runtime, job_name: str, data: dict[str, Any], *, tenant_id: str) -> None:
    """Run the check of the waitlist job `job_name` on the data a route is about to queue."""
    checker = CHECKS.get(job_name)
    if checker is not None:
        checker(runtime, data, tenant_id=tenant_id)
