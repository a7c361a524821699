"""Built-in tasks that act on the job system, always for the task's own tenant:
`sendNotification`, `cleanupOldData` and `generateReport`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from jobline import enqueue, operations
from jobline.context import JobContext
from jobline.errors import InvalidPayload, UnknownQueue, UnrecoverableError
from jobline.notifications import jobs as notification_jobs
from jobline.notifications.models import EmailJob, SmsJob
from jobline.queues import QUEUES, get_queue
from jobline.states import JobState
from jobline.tasks.registry import TaskParams, task

# Channel → (queue, job name, payload model) of the notification job it enqueues.
CHANNELS: dict[str, tuple[str, str, type[EmailJob] | type[SmsJob]]] = {
    "email": (notification_jobs.EMAIL_QUEUE, notification_jobs.SEND_EMAIL, EmailJob),
    "sms": (notification_jobs.SMS_QUEUE, notification_jobs.SEND_SMS, SmsJob),
}


def _known_queue(name: str) -> str:
    try:
        return get_queue(name).name
    except UnknownQueue as exc:
        raise ValueError(str(exc)) from None


KnownQueue = Annotated[str, Field(max_length=64), AfterValidator(_known_queue)]


class SendNotificationParams(TaskParams):
    """`channel` plus the fields of that channel's job: the e-mail job's or the SMS job's payload."""

    model_config = ConfigDict(extra="allow")

    channel: Literal["email", "sms"]

    @model_validator(mode="after")
    def _payload_fits_channel(self) -> SendNotificationParams:
        # Raised from here, the job model's errors are located under `params`, field by field.
        CHANNELS[self.channel][2].model_validate(self.payload())
        return self

    def payload(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@task("sendNotification", params=SendNotificationParams)
def send_notification(params: SendNotificationParams, ctx: JobContext) -> dict[str, Any]:
    """Enqueue an e-mail or SMS job for this task's tenant; a retried task finds the job it enqueued before."""
    queue, name, _ = CHANNELS[params.channel]
    try:
        created = enqueue.enqueue(
            ctx.runtime,
            queue=queue,
            name=name,
            data=params.payload(),
            tenant_id=ctx.tenant_id,
            user_id=ctx.user_id,
            options=enqueue.JobOptions(job_id=f"task-{ctx.job_id}"),
        )
    except InvalidPayload as exc:
        raise UnrecoverableError(f"the {params.channel} job refused the payload: {exc.errors}") from exc
    return {"channel": params.channel, "queue": queue, "jobId": created.job.id, "created": created.created}


class CleanupOldDataParams(TaskParams):
    queue: KnownQueue
    older_than_days: int = Field(ge=0, le=3_650)
    state: Literal["completed", "failed", "all"] = "all"


# Admin only: the admin API's clean route needs the admin role, and this must not be a way around it.
@task("cleanupOldData", params=CleanupOldDataParams, admin_only=True)
def cleanup_old_data(params: CleanupOldDataParams, ctx: JobContext) -> dict[str, Any]:
    """Remove this tenant's finished jobs of `queue` that finished more than `olderThanDays` days ago."""
    states = [JobState.COMPLETED, JobState.FAILED] if params.state == "all" else [JobState(params.state)]
    grace = dt.timedelta(days=params.older_than_days)
    removed = {
        state.value: operations.clean_queue(
            ctx.runtime, params.queue, grace=grace, state=state, tenant_id=ctx.tenant_id
        )
        for state in states
    }
    ctx.log(
        f"removed {sum(removed.values())} finished jobs older than {params.older_than_days} days from {params.queue}"
    )
    return {
        "queue": params.queue,
        "olderThanDays": params.older_than_days,
        "removed": removed,
        "total": sum(removed.values()),
    }


class GenerateReportParams(TaskParams):
    queues: list[KnownQueue] | None = Field(default=None, min_length=1, max_length=len(QUEUES))


@task("generateReport", params=GenerateReportParams)
def generate_report(params: GenerateReportParams, ctx: JobContext) -> dict[str, Any]:
    """Job counts per state of each queue (all by default), for this tenant only, with totals."""
    names = list(dict.fromkeys(params.queues or QUEUES))
    rows = []
    for done, name in enumerate(names, start=1):
        stats = operations.queue_stats(ctx.runtime, name, tenant_id=ctx.tenant_id, with_sqs=False)
        finished = stats.completed + stats.failed
        rows.append(
            {
                "queue": name,
                "waiting": stats.waiting,
                "active": stats.active,
                "delayed": stats.delayed,
                "completed": stats.completed,
                "failed": stats.failed,
                "total": stats.total,
                "paused": stats.paused,
                "failureRate": round(stats.failed / finished, 4) if finished else None,
            }
        )
        ctx.progress(100 * done / len(names))
    states = ("waiting", "active", "delayed", "completed", "failed", "total")
    return {
        "tenantId": ctx.tenant_id,
        "generatedAt": ctx.runtime.clock().isoformat(),
        "queues": rows,
        "totals": {state: sum(row[state] for row in rows) for state in states},
    }
