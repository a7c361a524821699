"""Enqueue: a new job made from a caller's add, written and sent by `dispatch.create`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Any

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from jobline.aws.sqs import MAX_DELAY_SECONDS
from jobline.core.clock import as_utc, shown_in_utc
from jobline.core.errors import InvalidPayload, JobExists
from jobline.core.job import Job, job_id_for_key, new_job_id
from jobline.core.queues import get_queue
from jobline.core.registry import get_job_type
from jobline.core.repeat import Repeat, Schedule, schedule_id_of_run
from jobline.core.retry import BackoffOption
from jobline.core.states import JobState
from jobline.engine import dispatch
from jobline.runtime import Runtime
from jobline.telemetry.observability import current_trace_header

MAX_DELAY = dt.timedelta(days=366)
MAX_DELAY_MS = int(MAX_DELAY.total_seconds() * 1000)
MAX_ATTEMPTS = 25


class JobOptions(BaseModel):
    """Per-job options, named as Bull, BullMQ and bee-queue users know them; times in milliseconds."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    job_id: str | None = Field(
        default=None,
        alias="jobId",
        min_length=1,
        max_length=128,
        description="Idempotency key: the same key in the same queue returns the same job.",
    )
    delay: int | None = Field(default=None, ge=0, le=MAX_DELAY_MS, description="milliseconds before the job runs")
    run_at: Annotated[dt.datetime, AfterValidator(shown_in_utc)] | None = Field(default=None, alias="runAt")
    attempts: int | None = Field(default=None, ge=1, le=MAX_ATTEMPTS, description="runs in all, the first included")
    retries: int | None = Field(
        default=None, ge=0, le=MAX_ATTEMPTS - 1, description="bee-queue's count of retries: attempts = retries + 1"
    )
    backoff: BackoffOption | None = Field(
        default=None, description="{type: fixed|exponential, delay: milliseconds}, or milliseconds for fixed"
    )
    priority: int | None = Field(default=None, ge=0, le=2_097_152)
    timeout: int | None = Field(
        default=None, gt=0, le=MAX_DELAY_MS, description="milliseconds; at most the queue's job timeout"
    )
    callback_url: AnyHttpUrl | None = Field(default=None, alias="callbackUrl")
    repeat: Repeat | None = Field(
        default=None,
        description="BullMQ's repeat: a recurring job on a cron `pattern` (in `tz`) or `every` N milliseconds; "
        "the answer is its first run",
    )

    @field_validator("retries")
    @classmethod
    def _not_with_attempts(cls, value: int | None, info: ValidationInfo) -> int | None:
        # Two counts of one thing would have to agree; naming one is the only way to be sure which.
        if value is not None and info.data.get("attempts") is not None:
            raise ValueError("give attempts or retries, not both (attempts = retries + 1)")
        return value

    @property
    def max_attempts(self) -> int | None:
        """Runs in all as the caller asked, by `attempts` or bee-queue's `retries`; None for the queue's."""
        if self.retries is not None:
            return self.retries + 1
        return self.attempts


@dataclasses.dataclass(frozen=True)
class Enqueued:
    """The job an add made or found; for a `repeat` add, the schedule it belongs to (its first run's job)."""

    job: Job
    created: bool
    schedule: Schedule | None = None

    @property
    def schedule_id(self) -> str | None:
        """The recurring schedule's id (BullMQ's repeatJobKey), for a `repeat` add."""
        return None if self.schedule is None else self.schedule.id


def shown_options(job: Job) -> dict[str, Any]:
    """A job's options as Bull shows `job.opts`, every time in milliseconds; `repeatJobKey` for a recurring run."""
    delay = max(0, round((job.run_at - job.created_at).total_seconds() * 1000)) if job.run_at else 0
    return {
        "attempts": job.max_attempts,
        "backoff": BackoffOption.shown(job.backoff).model_dump(mode="json"),
        "delay": delay,
        "timeout": None if job.timeout_seconds is None else round(job.timeout_seconds * 1000),
        "priority": job.priority,
        "jobId": job.key,
        "repeatJobKey": schedule_id_of_run(job.key),
    }


def _run_at(options: JobOptions, now: dt.datetime) -> dt.datetime | None:
    if options.run_at is not None:
        run_at = as_utc(options.run_at)
        if run_at - now > MAX_DELAY:
            # A job due in 9999 would only ever wait: the same bound as `delay`.
            raise InvalidPayload(
                [{"loc": ("options", "runAt"), "msg": f"must be within {MAX_DELAY.days} days", "type": "value_error"}]
            )
        return run_at if run_at > now else None
    if options.delay:
        return now + dt.timedelta(milliseconds=options.delay)
    return None


def enqueue(
    runtime: Runtime,
    *,
    queue: str,
    name: str,
    data: dict[str, Any],
    tenant_id: str,
    user_id: str | None = None,
    options: JobOptions | None = None,
    message_delay: float | None = None,
) -> Enqueued:
    """Create a job and put it on its queue; a known `jobId` returns the existing job instead;
    a `repeat` registers a recurring schedule and answers its first run (`recurring.add_repeating`).

    `message_delay` holds back the wake-up call of a job that is waiting now: a caller
    that runs the job inline (`inline.run_inline`) sends it as a safety net only.
    When the queue refuses the message the job is not kept and EnqueueFailed is raised.
    """
    options = options or JobOptions()
    if options.repeat is not None:
        # Imported here because recurring builds on this module: its runs are enqueued by it.
        from jobline.engine import recurring

        return recurring.add_repeating(
            runtime, queue=queue, name=name, data=data, tenant_id=tenant_id, options=options, user_id=user_id
        )
    settings = get_queue(queue)
    kind = get_job_type(queue, name)
    payload = kind.validate(data)
    now = runtime.clock()
    job_id = job_id_for_key(tenant_id=tenant_id, queue=queue, key=options.job_id) if options.job_id else new_job_id()
    run_at = _run_at(options, now)
    delay = (run_at - now).total_seconds() if run_at else 0.0
    # Short delays ride on SQS DelaySeconds; longer ones wait in the store for the tick.
    send_now = delay <= MAX_DELAY_SECONDS
    timeout = min(
        options.timeout / 1000 if options.timeout else settings.job_timeout_seconds, settings.job_timeout_seconds
    )

    job = Job(
        id=job_id,
        queue=queue,
        name=name,
        tenant_id=tenant_id,
        user_id=user_id,
        key=options.job_id,
        data=payload,
        state=JobState.DELAYED if run_at else JobState.WAITING,
        max_attempts=options.max_attempts or settings.attempts,
        backoff=options.backoff.policy() if options.backoff else settings.backoff,
        priority=settings.default_priority if options.priority is None else options.priority,
        timeout_seconds=timeout,
        created_at=now,
        run_at=run_at,
        dispatch=1,
        message_sent=send_now,
        callback_url=str(options.callback_url) if options.callback_url else None,
        trace_id=current_trace_header(),
    )
    body = json.dumps(payload, separators=(",", ":")).encode()
    if len(body) > runtime.settings.jobline_max_inline_payload_bytes:
        ref = runtime.payloads.put(tenant_id=tenant_id, job_id=job_id, body=body)
        job = job.model_copy(update={"data": {}, "data_ref": ref})

    # A per-tenant quota (e-mail and SMS recipients a day) is counted here, whoever adds the job.
    kind.count_use(runtime, tenant_id, payload, existing_id=job_id if options.job_id else None)
    try:
        stored = dispatch.create(runtime, job, delay_seconds=delay if message_delay is None else message_delay)
    except JobExists as exists:
        return Enqueued(job=exists.existing, created=False)
    return Enqueued(job=stored, created=True)
