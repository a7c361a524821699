"""The job record: what the store keeps about one job, and how it moves between states."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jobline.core.errors import IllegalTransition
from jobline.core.retry import Backoff
from jobline.core.states import ALLOWED_TRANSITIONS, JobState

# Logs are kept with the record, so they are bounded (BullMQ keeps them unbounded in
# Redis; a DynamoDB item must stay under 400 KB).
MAX_LOG_LINES = 100
MAX_LOG_LINE_CHARS = 1_000
# Stack traces are trimmed from the front: the innermost frames are the useful ones.
MAX_STACKTRACE_CHARS = 8_000

_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1d0c3e-8a57-4d55-9c52-4a8b3d2f6e10")


def new_job_id() -> str:
    """A fresh random job id."""
    return str(uuid.uuid4())


def job_id_for_key(*, tenant_id: str, queue: str, key: str) -> str:
    """The job id a caller-given key maps to: the same key in the same tenant and queue
    always names the same job, and two tenants' keys never collide."""
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{tenant_id}\x1f{queue}\x1f{key}"))


class DataRef(BaseModel):
    """Where a payload too large for the record lives in S3."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    size: int


class Job(BaseModel):
    """One job. `version` grows with every write; stores write only if it is unchanged."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    id: str
    queue: str
    name: str
    tenant_id: str
    data: dict[str, Any] = Field(default_factory=dict)
    data_ref: DataRef | None = None
    key: str | None = None
    state: JobState = JobState.WAITING
    progress: int = 0
    attempts: int = 0
    max_attempts: int = 1
    # Consecutive tries given back because a dependency was unreachable (`engine.outages`): they
    # spend no attempt, and each waits longer than the last. A counted attempt resets it.
    outage_deferrals: int = 0
    backoff: Backoff = Field(default_factory=Backoff)
    priority: int = 0
    timeout_seconds: float | None = None
    result: Any = None
    error: str | None = None
    stacktrace: str | None = None
    logs: list[str] = Field(default_factory=list)
    created_at: dt.datetime
    run_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    lease_until: dt.datetime | None = None
    # How many times the job was put on its queue by enqueue, retry or promote. Each
    # message carries it, so a message of an earlier dispatch is recognised as stale.
    dispatch: int = 0
    message_sent: bool = False
    user_id: str | None = None
    callback_url: str | None = None
    # The X-Ray trace header of the request that enqueued the job: its messages carry it.
    trace_id: str | None = None
    version: int = 0

    def moved_to(self, state: JobState, **changes: Any) -> Job:
        """A copy in `state` with `changes` applied; refuses moves the state machine forbids."""
        if state not in ALLOWED_TRANSITIONS[self.state]:
            raise IllegalTransition(self.id, self.state, state)
        return self.model_copy(update={"state": state, **changes})

    def with_log(self, line: str) -> Job:
        """A copy with one more log line, the oldest dropped past the bound."""
        logs = [*self.logs, line[:MAX_LOG_LINE_CHARS]][-MAX_LOG_LINES:]
        return self.model_copy(update={"logs": logs})

    def index_time(self) -> dt.datetime:
        """The time that orders this job among others of its state.

        Delayed jobs sort by when they are due, finished ones by when they finished,
        the rest by when they were created.
        """
        if self.state is JobState.DELAYED and self.run_at is not None:
            return self.run_at
        if self.state.is_finished and self.finished_at is not None:
            return self.finished_at
        return self.created_at

    @property
    def is_finished(self) -> bool:
        return self.state.is_finished

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> Job:
        return cls.model_validate_json(text)


class JobMessage(BaseModel):
    """The SQS message body: a wake-up call naming the job, never the job's truth."""

    model_config = ConfigDict(extra="ignore")

    job_id: str
    queue: str
    dispatch: int = 0
    # Routes the message to the queue's priority lane (see `queues.QueueSettings.lane_for`).
    priority: int = 0
    data_ref: DataRef | None = None
    trace_id: str | None = None
    # Consecutive re-sends because the job store could not be read: the next waits longer. None
    # (left out of the body) on every other message.
    outages: int | None = None

    @classmethod
    def for_job(cls, job: Job) -> JobMessage:
        """The wake-up call for the job's current dispatch."""
        return cls(
            job_id=job.id,
            queue=job.queue,
            dispatch=job.dispatch,
            priority=job.priority,
            data_ref=job.data_ref,
            trace_id=job.trace_id,
        )
