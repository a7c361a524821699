"""The queue registry: every queue's settings in one place.

template.yaml declares the same queues (SQS queue, DLQ, event source); a test reads the
template and checks that both agree.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jobline.core.errors import UnknownQueue
from jobline.core.retry import Backoff, BackoffKind

# SQS keeps a message for at most 14 days; so does a DLQ, which is the failed-job record.
DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60
# AWS's advice: a queue's visibility timeout at least six times its function's timeout,
# so a message is not handed out again while a slow batch (with retries) still runs.
VISIBILITY_TIMEOUT_FACTOR = 6
DAY = 24 * 60 * 60
# Priorities 1 (highest) to this ride the priority lane; 0 (none) and larger numbers do not.
PRIORITY_LANE_MAX = 10
# SQS's longest DelaySeconds: a message may be this old before it is first delivered.
SQS_MAX_DELAY_SECONDS = 15 * 60
# Room above a healthy message's greatest age before the oldest-message alarm fires.
OLDEST_MESSAGE_SLACK_SECONDS = 5 * 60


class Retention(BaseModel):
    """BullMQ's removeOnComplete / removeOnFail: keep at most `count` jobs, none older than `age_seconds`."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(ge=0)
    age_seconds: int = Field(gt=0)


class RateLimit(BaseModel):
    """BullMQ's limiter: at most `max_jobs` started per `per_seconds`."""

    model_config = ConfigDict(frozen=True)

    max_jobs: int = Field(gt=0)
    per_seconds: int = Field(gt=0)


class WorkerFunction(BaseModel):
    """A Lambda function that consumes queues; its timeout bounds the jobs it runs."""

    model_config = ConfigDict(frozen=True)

    name: str  # folder under functions/
    logical_id: str  # resource name in template.yaml
    timeout_seconds: int
    memory_mb: int = 512


class QueueSettings(BaseModel):
    """One logical queue: its SQS pair, consumer, retries, limits and retention."""

    model_config = ConfigDict(frozen=True)

    name: str
    logical_id: str  # SQS queue resource in template.yaml; the DLQ is `<logical_id>DLQ`
    consumer: WorkerFunction
    attempts: int = Field(default=3, ge=1)
    backoff: Backoff = Backoff()
    job_timeout_seconds: int
    concurrency: int = Field(default=5, ge=2)  # ESM maximum concurrency; AWS minimum is 2
    batch_size: int = Field(default=10, ge=1, le=10_000)
    batching_window_seconds: int = Field(default=0, ge=0, le=300)
    rate_limit: RateLimit | None = None
    keep_completed: Retention = Retention(count=1_000, age_seconds=7 * DAY)
    keep_failed: Retention = Retention(count=1_000, age_seconds=14 * DAY)
    default_priority: int = Field(default=0, ge=0)
    # A second SQS queue for jobs with priority 1..PRIORITY_LANE_MAX, consumed by the same
    # function through its own event source with more concurrency: such a job never waits
    # behind the queue's backlog of ordinary jobs.
    priority_lane: bool = False
    # The platform's own queues (signed callbacks, the waitlist's internal steps): no route adds a
    # job to them by name; only their own code (and the waitlist's trigger routes) enqueue there.
    internal: bool = False

    def lane_for(self, priority: int) -> str:
        """The SQS queue suffix a job of this priority is sent to: the lane, or the queue itself."""
        if self.priority_lane and 1 <= priority <= PRIORITY_LANE_MAX:
            return self.lane_name_suffix
        return self.name

    @property
    def lane_name_suffix(self) -> str:
        return f"{self.name}-priority"

    @property
    def consumed_suffixes(self) -> tuple[str, ...]:
        """The SQS queues a worker reads for this queue: the queue itself, and its priority lane if any."""
        return (self.name, self.lane_name_suffix) if self.priority_lane else (self.name,)

    @property
    def lane_logical_id(self) -> str:
        return f"{self.logical_id}Priority"

    @property
    def lane_concurrency(self) -> int:
        return 2 * self.concurrency

    @property
    def visibility_timeout_seconds(self) -> int:
        return VISIBILITY_TIMEOUT_FACTOR * self.consumer.timeout_seconds

    @property
    def oldest_message_alarm_seconds(self) -> int:
        """The age of its oldest message past which the queue is stuck (no consumer, throttled, failing).

        A healthy message may wait out SQS's longest delay, then every attempt with its
        backoff (a retried message keeps its age); paused or rate-limited jobs get fresh
        messages, so a pause never trips the alarm.
        """
        backoffs = sum(self.backoff.delay_after(made) for made in range(1, self.attempts))
        attempts = self.attempts * self.job_timeout_seconds
        return SQS_MAX_DELAY_SECONDS + attempts + backoffs + OLDEST_MESSAGE_SLACK_SECONDS

    @property
    def max_receive_count(self) -> int:
        """Receives before SQS redrives to the DLQ: every attempt plus room for the
        duplicate deliveries and lease waits that spend a receive but no attempt."""
        return self.attempts + 5

    @property
    def sqs_name_suffix(self) -> str:
        return self.name

    @property
    def dlq_name_suffix(self) -> str:
        return f"{self.name}-dlq"


ROOM_WORKER = WorkerFunction(name="room_worker", logical_id="RoomWorkerFunction", timeout_seconds=300)
NOTIFIER = WorkerFunction(name="notifier", logical_id="NotifierFunction", timeout_seconds=60)
TASK_WORKER = WorkerFunction(name="task_worker", logical_id="TaskWorkerFunction", timeout_seconds=300, memory_mb=1024)
WAITLIST_WORKER = WorkerFunction(name="waitlist_worker", logical_id="WaitlistWorkerFunction", timeout_seconds=60)

_EXP_2S = Backoff(type=BackoffKind.EXPONENTIAL, delay=2)
_EXP_1S = Backoff(type=BackoffKind.EXPONENTIAL, delay=1)
_FIXED_5S = Backoff(type=BackoffKind.FIXED, delay=5)


def _queue(name: str, consumer: WorkerFunction, **settings: Any) -> QueueSettings:
    """A queue whose template resource is named after it: `room-generation` → `RoomGenerationQueue`."""
    logical_id = "".join(part.title() for part in name.split("-")) + "Queue"
    return QueueSettings(name=name, logical_id=logical_id, consumer=consumer, **settings)


def _notification(name: str, **settings: Any) -> QueueSettings:
    # The first try and 3 retries, after 1 s, 2 s and 4 s.
    return _queue(name, NOTIFIER, **{"attempts": 4, "backoff": _EXP_1S, "job_timeout_seconds": 50, **settings})


def _one_at_a_time(name: str, consumer: WorkerFunction, **settings: Any) -> QueueSettings:
    # Long jobs (a year of rooms, an upload, an export): one per invocation, so one slow job
    # never holds nine others past their visibility timeout.
    return _queue(name, consumer, batch_size=1, **{"attempts": 3, "backoff": _EXP_2S, **settings})


_PER_MINUTE_50 = RateLimit(max_jobs=50, per_seconds=60)
# The BullMQ system's removeOnComplete (24 h or 1,000 jobs) and removeOnFail (7 days or 5,000 jobs).
_KEEP_A_DAY = Retention(count=1_000, age_seconds=DAY)
_KEEP_A_WEEK = Retention(count=5_000, age_seconds=7 * DAY)

QUEUES: dict[str, QueueSettings] = {
    q.name: q
    for q in (
        _one_at_a_time(
            "room-generation",
            ROOM_WORKER,
            attempts=4,  # the first try and 3 retries, after 2 s, 4 s and 8 s
            job_timeout_seconds=240,
            keep_completed=Retention(count=100, age_seconds=7 * DAY),
            keep_failed=Retention(count=50, age_seconds=14 * DAY),
        ),
        # Seed 002's email queue: 5 attempts, exponential backoff from 1 s, priority 3 (higher).
        _notification(
            "email",
            attempts=5,
            rate_limit=_PER_MINUTE_50,
            priority_lane=True,
            default_priority=3,
            keep_completed=_KEEP_A_DAY,
        ),
        _notification("sms", rate_limit=_PER_MINUTE_50, priority_lane=True),
        _notification("waitlist-notifications", internal=True),
        # The first try and 5 retries, after 2, 4, 8, 16 and 32 s.
        _queue("webhooks", NOTIFIER, attempts=6, backoff=_EXP_2S, job_timeout_seconds=30, internal=True),
        # Seed 003's policies: expired holds 3 attempts (exponential), cleanup 2 attempts (fixed delay).
        _one_at_a_time("waitlist-expired-holds", WAITLIST_WORKER, attempts=3, job_timeout_seconds=50, internal=True),
        _queue("waitlist-cascade", WAITLIST_WORKER, attempts=5, backoff=_EXP_2S, job_timeout_seconds=50, internal=True),
        _one_at_a_time(
            "waitlist-cleanup", WAITLIST_WORKER, attempts=2, backoff=_FIXED_5S, job_timeout_seconds=50, internal=True
        ),
        _one_at_a_time("data-export", TASK_WORKER, job_timeout_seconds=240),
        _one_at_a_time("file-processing", TASK_WORKER, job_timeout_seconds=240),
        _queue("generic-task", TASK_WORKER, attempts=3, backoff=_EXP_2S, job_timeout_seconds=60, priority_lane=True),
        _one_at_a_time("bulk-upload-mechanics", TASK_WORKER, job_timeout_seconds=240),
        _one_at_a_time("bulk-upload-service-providers", TASK_WORKER, job_timeout_seconds=240),
        _one_at_a_time("bulk-upload-policies", TASK_WORKER, job_timeout_seconds=240),
        # The BullMQ system's (seed 002) export, ai and scheduled queues, with its defaults.
        _one_at_a_time(
            "export",
            TASK_WORKER,
            attempts=2,
            job_timeout_seconds=240,
            concurrency=2,
            default_priority=5,
            rate_limit=RateLimit(max_jobs=10, per_seconds=60),
            keep_completed=_KEEP_A_DAY,
            keep_failed=_KEEP_A_WEEK,
        ),
        # One at a time: a model call may take the whole 60 s timeout.
        _one_at_a_time(
            "ai",
            TASK_WORKER,
            attempts=3,
            job_timeout_seconds=60,
            concurrency=3,
            default_priority=7,
            rate_limit=RateLimit(max_jobs=20, per_seconds=60),
            keep_completed=_KEEP_A_DAY,
        ),
        _one_at_a_time(
            "scheduled", TASK_WORKER, attempts=3, job_timeout_seconds=240, concurrency=2, default_priority=5
        ),
    )
}

WORKER_FUNCTIONS: dict[str, WorkerFunction] = {q.consumer.name: q.consumer for q in QUEUES.values()}


def get_queue(name: str) -> QueueSettings:
    """The settings of queue `name`; raises UnknownQueue for any other name."""
    try:
        return QUEUES[name]
    except KeyError:
        raise UnknownQueue(name) from None


def queues_consumed_by(function_name: str) -> list[QueueSettings]:
    """The queues whose messages `functions/<function_name>` receives."""
    return [q for q in QUEUES.values() if q.consumer.name == function_name]
