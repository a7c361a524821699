"""Waitlist job management: status, pause/resume, clear failed, manual triggers, one job, retry.

Seed 003's clients call them at /api/jobs/...; the app serves this router there and under /api/v1.
The trigger routes enqueue the same jobs the schedules do (release expired holds, cascade offers,
retry notifications, nightly cleanup), for the caller's tenant, after checking that every slot,
entry, notification and tenant their data names is the caller's (waitlist/triggers.py).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from jobline.api import deps
from jobline.api.answers import ENQUEUE_RESPONSES, enqueue_for
from jobline.api.envelope import Envelope, responses
from jobline.api.errors import InvalidRequest
from jobline.api.queues import act_on_job, known_queue, set_paused, stats_views
from jobline.api.schemas import (
    JobCreatedAnswer,
    JobIdPath,
    JobView,
    QueueNamePath,
    QueuePaused,
    QueueStatsView,
    Removed,
)
from jobline.auth import Principal
from jobline.domains.waitlist import triggers
from jobline.domains.waitlist.queues import EXPIRED_HOLDS, WAITLIST_QUEUES
from jobline.domains.waitlist.schemas import (
    CascadePayload,
    CleanupPayload,
    ReleaseExpiredPayload,
    RetryNotificationsPayload,
)
from jobline.engine import operations
from jobline.engine.enqueue import JobOptions
from jobline.runtime import Runtime

router = APIGatewayHttpRouter()
TAGS = ["waitlist"]


class _Trigger(BaseModel):
    """A trigger's body: the job's payload fields, plus optional Bull-style `options` (times in ms)."""

    options: JobOptions | None = None

    def payload(self) -> dict[str, Any]:
        """The job's data: the fields sent, but `options`."""
        return self.model_dump(mode="json", by_alias=True, exclude={"options"}, exclude_unset=True)


class ExpiredHoldsTrigger(ReleaseExpiredPayload, _Trigger):
    """`{"tenantId"?}`: your own tenant's overdue holds (every tenant's when omitted)."""


class CascadeTrigger(CascadePayload, _Trigger):
    """Seed 003's cascade data: `{"slotId", "previousEntryId", "reason": "declined" | "expired"}`."""


class NotificationRetryTrigger(RetryNotificationsPayload, _Trigger):
    """`{"notificationId"}`: the failed notification to send again (every failed one when omitted)."""


class CleanupTrigger(CleanupPayload, _Trigger):
    """`{"retentionDays"?}`: how many days of notifications and audit logs to keep (30 by default)."""


@router.get("/jobs/status", summary="Job counts of the waitlist queues", tags=TAGS, responses=responses())
def waitlist_status(runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[list[QueueStatsView]]:
    """Counts per state of each waitlist queue, for the caller's tenant."""
    stats = stats_views(runtime, WAITLIST_QUEUES, tenant_id=caller.scope)
    return Envelope(message="waitlist queue stats", data=stats)


@router.post(
    "/jobs/pause",
    summary="Pause the waitlist queues (an admin: its tenant's jobs; an operator: everyone's)",
    tags=TAGS,
    responses=responses(403),
)
def pause_waitlist(runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[QueuePaused]:
    """Stop running the caller's tenant's jobs on all four waitlist queues (an operator: the queues
    themselves); messages wait and no attempt is spent."""
    return set_paused(runtime, WAITLIST_QUEUES, paused=True, tenant_id=admin.scope, label="waitlist queues")


@router.post(
    "/jobs/resume",
    summary="Resume the waitlist queues (an admin: its tenant's jobs; an operator: everyone's)",
    tags=TAGS,
    responses=responses(403),
)
def resume_waitlist(runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[QueuePaused]:
    """Run the caller's tenant's jobs on the waitlist queues again (an operator: restart the queues)."""
    return set_paused(runtime, WAITLIST_QUEUES, paused=False, tenant_id=admin.scope, label="waitlist queues")


# 429: an operator's clear purges the DLQs, which SQS allows once a minute per queue.
@router.post(
    "/jobs/failed/clear",
    summary="Remove failed waitlist jobs",
    tags=TAGS,
    responses=responses(HTTPStatus.FORBIDDEN, HTTPStatus.TOO_MANY_REQUESTS),
)
def clear_failed(runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[Removed]:
    """Remove the failed jobs of the waitlist queues (the caller's tenant; all and the DLQs for operators)."""
    by_queue = {q: operations.clear_failed(runtime, q, tenant_id=admin.scope) for q in WAITLIST_QUEUES}
    return Envelope(message="failed jobs cleared", data=Removed(removed=sum(by_queue.values()), by_queue=by_queue))


def _trigger(trigger: str, body: _Trigger | None, runtime: Runtime, admin: Principal) -> Response[JobCreatedAnswer]:
    queue, name = triggers.TRIGGERS[trigger]
    data = body.payload() if body else {}
    if queue == EXPIRED_HOLDS and admin.scope is not None:
        # Without a tenantId the job releases every tenant's holds: a tenant's admin acts on its own.
        data.setdefault("tenantId", admin.scope)
    try:
        triggers.check(runtime, name, data, tenant_id=admin.tenant_id)
    except triggers.TriggerRefused as exc:
        raise InvalidRequest(f"body.{exc.field}", str(exc)) from exc
    return enqueue_for(runtime, admin, queue=queue, name=name, data=data, options=body.options if body else None)


TRIGGER_RESPONSES = {**ENQUEUE_RESPONSES, **responses(HTTPStatus.FORBIDDEN, success=())}


@router.post("/jobs/expired-holds/trigger", summary="Release expired holds now", tags=TAGS, responses=TRIGGER_RESPONSES)
def trigger_expired_holds(
    runtime: deps.RuntimeDep, admin: deps.AdminDep, body: Annotated[ExpiredHoldsTrigger | None, Body()] = None
) -> Response[JobCreatedAnswer]:
    """Enqueue `release-expired-holds` on waitlist-expired-holds; `{"tenantId"}` may name only your own tenant
    (every tenant's overdue holds otherwise)."""
    return _trigger("expired-holds", body, runtime, admin)


@router.post("/jobs/cascade/trigger", summary="Schedule a notification cascade", tags=TAGS, responses=TRIGGER_RESPONSES)
def trigger_cascade(
    runtime: deps.RuntimeDep, admin: deps.AdminDep, body: Annotated[CascadeTrigger | None, Body()] = None
) -> Response[JobCreatedAnswer]:
    """Enqueue `cascade` on waitlist-cascade with `{"slotId", "previousEntryId", "reason": "declined"|"expired"}`:
    the previous entry's open hold is closed for that reason and the slot offered to the next candidate.
    Without `slotId`, every free slot of your tenant that someone waits for is offered."""
    return _trigger("cascade", body, runtime, admin)


@router.post(
    "/jobs/notifications/retry",
    summary="Retry a failed notification",
    tags=TAGS,
    responses={**TRIGGER_RESPONSES, **responses(HTTPStatus.CONFLICT, success=())},
)
def trigger_notifications(
    runtime: deps.RuntimeDep, admin: deps.AdminDep, body: Annotated[NotificationRetryTrigger | None, Body()] = None
) -> Response[JobCreatedAnswer]:
    """Enqueue `retry-notifications` on waitlist-notifications: `{"notificationId"}` re-sends that failed (or
    stuck pending) notification, 409 if it was sent; without it, every failed one of your tenant."""
    return _trigger("notifications", body, runtime, admin)


@router.post("/jobs/cleanup/trigger", summary="Schedule the cleanup job", tags=TAGS, responses=TRIGGER_RESPONSES)
def trigger_cleanup(
    runtime: deps.RuntimeDep, admin: deps.AdminDep, body: Annotated[CleanupTrigger | None, Body()] = None
) -> Response[JobCreatedAnswer]:
    """Enqueue `nightly-cleanup` on waitlist-cleanup: your tenant's notifications and audit logs older than
    `{"retentionDays"}` (30 by default) are removed."""
    return _trigger("cleanup", body, runtime, admin)


@router.get("/jobs/<queueName>/<jobId>", summary="One job of a queue", tags=TAGS, responses=responses(404))
def get_job(
    queue_name: QueueNamePath, job_id: JobIdPath, runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Envelope[JobView]:
    """The job, if it is in `queueName` and the caller added it or is an admin of its tenant (404 otherwise)."""
    job = deps.visible_job(runtime, job_id, queue=known_queue(queue_name), caller=caller)
    return Envelope(message="job", data=JobView.shown_to(job, caller))


@router.post(
    "/jobs/<queueName>/<jobId>/retry", summary="Retry a failed job", tags=TAGS, responses=responses(403, 404, 409)
)
def retry_job(
    queue_name: QueueNamePath, job_id: JobIdPath, runtime: deps.RuntimeDep, admin: deps.AdminDep
) -> Envelope[JobView]:
    """Put a failed job back on its queue; 409 unless it failed."""
    return act_on_job(operations.retry_job, runtime, queue_name, job_id, admin, "job retried")
