"""The built-in `sendNotification` task: an e-mail or SMS job for the task's own tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, model_validator

from jobline.core.context import JobContext
from jobline.core.errors import InvalidPayload, UnrecoverableError
from jobline.core.registry import NeedsRole, get_job_type
from jobline.domains.notifications import jobs as notification_jobs
from jobline.domains.notifications import queues as notification_queues
from jobline.domains.notifications.schemas import EmailJob, SmsJob
from jobline.domains.tasks.registry import TaskParams, task
from jobline.engine import enqueue

if TYPE_CHECKING:
    from jobline.auth import Principal

SEND_NOTIFICATION = "sendNotification"
# Channel → (queue, job name, payload model) of the notification job it enqueues.
CHANNELS: dict[str, tuple[str, str, type[EmailJob] | type[SmsJob]]] = {
    "email": (notification_queues.EMAIL, notification_jobs.SEND_EMAIL, EmailJob),
    "sms": (notification_queues.SMS, notification_jobs.SEND_SMS, SmsJob),
}
# An e-mail sent as seed 001's `sendNotification('email', recipients, message)` gets the
# message's first line, this long at most, as its subject.
SUBJECT_FROM_MESSAGE_CHARS = 120


class SendNotificationParams(TaskParams):
    """`channel` (seed 001's `type`) plus the fields of that channel's job: the e-mail job's or the SMS
    job's payload. Called as `sendNotification(type, recipients, message)`, an e-mail's `message` is
    its text (or an object of its fields: subject, text, html, template...), its first line the subject."""

    model_config = ConfigDict(extra="allow")

    channel: Literal["email", "sms"] = Field(validation_alias=AliasChoices("channel", "type"))

    @model_validator(mode="before")
    @classmethod
    def _message_of_an_email(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("channel", data.get("type")) != "email" or "message" not in data:
            return data
        fields = dict(data)
        message = fields.pop("message")
        if isinstance(message, dict):
            return {**message, **fields}
        if isinstance(message, str) and message.strip():
            first_line = message.strip().splitlines()[0].strip()[:SUBJECT_FROM_MESSAGE_CHARS]
            return {"subject": first_line, "text": message, **fields}
        return data  # not text: the e-mail job names `message` as the field it does not take

    @model_validator(mode="after")
    def _payload_fits_channel(self) -> SendNotificationParams:
        # Raised from here, the job model's errors are located under `params`, field by field.
        CHANNELS[self.channel][2].model_validate(self.payload())
        return self

    def payload(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def authorize(params: dict[str, Any], principal: Principal) -> None:
    """The caller's check of the e-mail or SMS job this task would add (raw content needs a role), its
    field named under `params`: the task runs later, in a worker that no longer knows the caller."""
    channel = SendNotificationParams.model_validate(params)
    queue, name, _ = CHANNELS[channel.channel]
    try:
        get_job_type(queue, name).authorize(channel.payload(), principal)
    except NeedsRole as exc:
        raise exc.relocated(lambda loc: ("params", *loc)) from exc


@task(SEND_NOTIFICATION, params=SendNotificationParams, positional=("type", "recipients", "message"))
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
