"""Request and response models of the HTTP API, camelCase on the wire like Bull's."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from jobline.api.envelope import Envelope
from jobline.auth import Principal
from jobline.core.job import Job
from jobline.core.states import JobState
from jobline.engine.enqueue import MAX_DELAY, Enqueued, JobOptions, shown_options
from jobline.engine.operations import SWEEP_LIMIT, QueueStats

# Job ids are UUIDs (random, or derived from an idempotency key), so no route segment
# like `stats` or `jobs` can be mistaken for one.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

JobIdPath = Annotated[str, Path(alias="jobId", pattern=UUID_PATTERN, description="The job id (a UUID).")]
QueueNamePath = Annotated[
    str, Path(alias="queueName", max_length=64, description="A queue name.", examples=["waitlist-cascade"])
]
QueuePath = Annotated[str, Path(max_length=64, description="A queue name.", examples=["generic-task"])]


class ApiModel(BaseModel):
    """Snake case in Python, camelCase in JSON."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# What a failed reason may carry that only admins should read: the rest of a traceback, the SQL and
# parameters SQLAlchemy appends, connection strings and the database's or Redis's host and port.
MAX_SHOWN_REASON = 300
REDACTED = "[redacted]"
_APPENDIX = re.compile(r"(?s)\s*(?:\[SQL:|\[parameters:|\(Background on this error at:|Traceback \(most recent).*")
_SECRETS = (
    # Any URL: connection strings (postgresql+pg8000://user:pw@host:5432/db), endpoints and queue URLs.
    re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+"),
    # libpq-style keywords: host=db.internal port=5432 user=app password=...
    re.compile(
        r"\b(?:host|hostaddr|port|user|password|dbname|database|sslmode|service)\s*=\s*(?:'[^']*'|\"[^\"]*\"|\S+)"
    ),
    # "to host 10.0.0.5 and port 5432", 'server at "db.internal" (10.0.0.5), port 5432', "connecting to db:6379"
    re.compile(r"(?i)\b(?:host|server at|connecting to)\s+(?:\"[^\"]*\"|'[^']*'|[^\s,;()]+)"),
    re.compile(r"(?i)\bport\s+\d+"),
    # Bare addresses and host:port pairs anywhere else.
    re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"),
    re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b|(?<![\w:])[0-9a-fA-F]{0,4}::[0-9a-fA-F:]*[0-9a-fA-F]"),
    re.compile(r"\b(?=[a-zA-Z0-9.-]*[a-zA-Z])[a-zA-Z0-9][a-zA-Z0-9.-]*:\d{2,5}\b"),
)


def shown_reason(reason: str | None) -> str | None:
    """A failed reason (`ExcType: message`) as a non-admin sees it: its first line, without any traceback,
    SQL, URL, host or port, and short. The exception type is kept: it says what kind of failure it was."""
    if reason is None:
        return None
    first = _APPENDIX.sub("", reason).strip().splitlines()
    text = first[0] if first else ""
    for pattern in _SECRETS:
        text = pattern.sub(REDACTED, text)
    if len(text) > MAX_SHOWN_REASON:
        text = text[: MAX_SHOWN_REASON - 1] + "…"
    return text


class JobView(ApiModel):
    """A job as the API shows it (Bull's job JSON, with ISO-8601 times), with the names each seed's
    clients read: `id`/`jobId`, `status`/`state`, `queue`/`queueName`, `completedAt`/`finishedAt`."""

    id: str
    job_id: str
    queue: str
    queue_name: str
    status: JobState
    name: str
    state: JobState
    progress: int
    attempts_made: int
    max_attempts: int
    data: dict[str, Any]
    result: Any = None
    failed_reason: str | None = None
    stacktrace: str | None = None
    logs: list[str] = Field(default_factory=list)
    priority: int
    created_at: dt.datetime
    scheduled_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    completed_at: dt.datetime | None = Field(default=None, description="when it completed (null unless completed)")
    failed_at: dt.datetime | None = Field(default=None, description="when it failed for good (null unless failed)")
    delay: int = Field(description="milliseconds between creation and the scheduled run (Bull's opts.delay)")
    opts: dict[str, Any] = Field(
        default_factory=dict, description="the job's options as Bull's job.opts, every time in milliseconds"
    )

    @classmethod
    def of(cls, job: Job) -> JobView:
        """The view of a stored job."""
        opts = shown_options(job)
        return cls(
            id=job.id,
            job_id=job.id,
            queue=job.queue,
            queue_name=job.queue,
            name=job.name,
            status=job.state,
            state=job.state,
            progress=job.progress,
            attempts_made=job.attempts,
            max_attempts=job.max_attempts,
            data=job.data,
            result=job.result,
            failed_reason=job.error,
            stacktrace=job.stacktrace,
            logs=job.logs,
            priority=job.priority,
            created_at=job.created_at,
            scheduled_at=job.run_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            completed_at=job.finished_at if job.state is JobState.COMPLETED else None,
            failed_at=job.finished_at if job.state is JobState.FAILED else None,
            delay=opts["delay"],
            opts=opts,
        )

    @classmethod
    def shown_to(cls, job: Job, caller: Principal) -> JobView:
        """The view of a stored job as `caller` may read it: admins (and operators) see it whole; anyone
        else gets no stack trace, and the failed reason and logs without tracebacks, SQL, hosts or URLs
        (they name the database and the stack's internals, not the caller's data)."""
        view = cls.of(job)
        if caller.is_admin:
            return view
        logs = [shown_reason(line) or "" for line in view.logs]
        return view.model_copy(
            update={"stacktrace": None, "failed_reason": shown_reason(view.failed_reason), "logs": logs}
        )


class JobStatusAnswer(Envelope[JobView]):
    """The job in the envelope, and bee-queue's `getJobStatus` fields at the top as well: seed 001's
    clients read `status`, `result` and `completedAt` from the answer itself."""

    model_config = ConfigDict(populate_by_name=True)

    job_id: str = Field(alias="jobId")
    status: JobState
    progress: int
    result: Any = None
    created_at: dt.datetime = Field(alias="createdAt")
    completed_at: dt.datetime | None = Field(default=None, alias="completedAt")

    @classmethod
    def of(cls, job: Job, message: str, caller: Principal) -> JobStatusAnswer:
        """The answer for a stored job, as `caller` may read it (`JobView.shown_to`)."""
        view = JobView.shown_to(job, caller)
        return cls(
            message=message,
            data=view,
            job_id=view.job_id,
            status=view.status,
            progress=view.progress,
            result=view.result,
            created_at=view.created_at,
            completed_at=view.completed_at,
        )


class RanInRequestView(JobView):
    """A job that ran inside the request because its queue could not take it (never stored)."""

    sync: bool = True


class RanInRequest(BaseModel):
    """The answer of the sync fallback, the BullMQ system's `{success, data, sync: true}` in the envelope."""

    success: bool = True
    message: str
    sync: bool = True
    data: RanInRequestView


class JobCreatedAnswer(Envelope["JobCreated"]):
    """The enqueue answer: the job in the envelope, and at the top the `jobId` and `checkStatusAt`
    that seed 001's controllers answered with."""

    model_config = ConfigDict(populate_by_name=True)

    job_id: str = Field(alias="jobId")
    check_status_at: str = Field(alias="checkStatusAt", description="where to poll the job's status")


class JobCreated(ApiModel):
    """What enqueue answers; `created` is false when an idempotency key named an existing job."""

    job_id: str
    queue: str
    name: str
    state: JobState
    created: bool
    repeat_job_key: str | None = Field(
        default=None, description="for a `repeat` add: its schedule (BullMQ's repeatJobKey), to list or remove it"
    )

    @classmethod
    def of(cls, enqueued: Enqueued) -> JobCreated:
        """The answer for an enqueue result."""
        job = enqueued.job
        return cls(
            job_id=job.id,
            queue=job.queue,
            name=job.name,
            state=job.state,
            created=enqueued.created,
            repeat_job_key=enqueued.schedule_id,
        )


class SqsDepths(ApiModel):
    """Approximate SQS message counts (operators only: they mix every tenant's messages)."""

    visible: int | None = None
    in_flight: int | None = None
    delayed: int | None = None
    dlq: int | None = None


class QueueStatsView(ApiModel):
    """Jobs per state in one queue, for the caller's tenant (every tenant for operators)."""

    queue: str
    waiting: int
    active: int
    completed: int
    succeeded: int = Field(description="the same as completed (bee-queue's name)")
    failed: int
    delayed: int
    paused: bool
    total: int
    sqs: SqsDepths | None = None

    @classmethod
    def of(cls, stats: QueueStats) -> QueueStatsView:
        """The view of the core's stats; SQS depths only when the core read them (operators)."""
        sqs = None
        if stats.dlq_depth is not None:
            sqs = SqsDepths(
                visible=stats.sqs_visible, in_flight=stats.sqs_in_flight, delayed=stats.sqs_delayed, dlq=stats.dlq_depth
            )
        return cls(
            queue=stats.queue,
            waiting=stats.waiting,
            active=stats.active,
            completed=stats.completed,
            succeeded=stats.completed,
            failed=stats.failed,
            delayed=stats.delayed,
            paused=stats.paused,
            total=stats.total,
            sqs=sqs,
        )


class QueueStatsAnswer(Envelope[QueueStatsView]):
    """The counts in the envelope, and bee-queue's `getQueueStats` fields at the top as well (seed 001)."""

    waiting: int
    active: int
    succeeded: int
    completed: int
    failed: int
    delayed: int

    @classmethod
    def of(cls, stats: QueueStats, message: str) -> QueueStatsAnswer:
        """The answer for one queue's stats."""
        view = QueueStatsView.of(stats)
        counts = view.model_dump(include={"waiting", "active", "succeeded", "completed", "failed", "delayed"})
        return cls(message=message, data=view, **counts)


class JobPage(ApiModel):
    """One page of a queue's jobs in one state; `start` and `end` are inclusive indexes."""

    state: JobState
    start: int
    end: int
    jobs: list[JobView]


class QueuePaused(ApiModel):
    queues: list[str]
    paused: bool


class Removed(ApiModel):
    """How many jobs a sweep removed, in total and per queue."""

    removed: int
    by_queue: dict[str, int] = Field(default_factory=dict)


class HealthChecks(ApiModel):
    """Each dependency the service needs, and whether it answered."""

    database: Literal["ok", "down"]
    job_store: Literal["ok", "down"]


class Health(ApiModel):
    # unavailable: the job store is down (nothing can be queued); degraded: only the database is.
    status: Literal["ok", "degraded", "unavailable"]
    store: Literal["ok", "unreachable"]
    version: str
    checks: HealthChecks


class JobRequest(BaseModel):
    """A job's payload fields, plus optional Bull-style `options`."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    options: JobOptions | None = None

    def payload(self) -> dict[str, Any]:
        """The payload: every field but `options`."""
        return dict(self.model_extra or {})


class CleanRequest(BaseModel):
    """Remove finished jobs older than `grace` milliseconds (Bull's queue.clean)."""

    model_config = ConfigDict(extra="forbid")

    grace: int = Field(ge=0, le=int(MAX_DELAY.total_seconds() * 1000), description="milliseconds")
    state: Literal["completed", "failed"] = "completed"
    limit: int | None = Field(default=None, ge=1, le=SWEEP_LIMIT)


class DrainRequest(BaseModel):
    """Remove waiting jobs, and delayed ones too when `delayed` is true (Bull's queue.drain)."""

    model_config = ConfigDict(extra="forbid")

    delayed: bool = False
