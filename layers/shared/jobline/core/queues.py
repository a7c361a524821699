"""The queue registry: the settings model, the worker functions, the presets the domains build
their queues from, the platform's own `webhooks` queue, and the registry of every queue.

Each domain declares its queues in `jobline.domains.<name>.queues`, with a constant per queue
name; the registry finds them through the catalog. template.yaml declares the same queues (SQS
queue, DLQ, event source); a test reads the template and checks that both agree.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jobline.core import catalog
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
    """BullMQ's limiter: at most `max_jobs` started per `per_seconds`, on the whole queue, or, when
    `per_tenant`, for each tenant's jobs on it (one tenant's burst then never delays another's jobs)."""

    model_config = ConfigDict(frozen=True)

    max_jobs: int = Field(gt=0)
    per_seconds: int = Field(gt=0)
    per_tenant: bool = False

    def window(self, queue: str, tenant_id: str) -> str:
        """The name of the rate window a job of `tenant_id` on `queue` counts against (queue names
        hold no '/', so a tenant's window never shares a name with a queue's)."""
        return f"{queue}/{tenant_id}" if self.per_tenant else queue


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
    # Its jobs run inside the request that adds them when the queue or the job store cannot take
    # them, as the BullMQ system's "enhanced services" fell back to synchronous work: only for
    # idempotent jobs that fit in a request (e-mails, exports). Room generation has a fallback of
    # its own, bounded by the date range (domains/rooms/service.py).
    sync_fallback: bool = False

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
WAITLIST_WORKER = WorkerFunction(name="waitlist_worker", logical_id="WaitlistWorkerFunction", timeout_seconds=60)
TASK_WORKER = WorkerFunction(name="task_worker", logical_id="TaskWorkerFunction", timeout_seconds=300, memory_mb=1024)
# Every worker function, in the order the registry lists their queues (as template.yaml does).
WORKER_FUNCTIONS: dict[str, WorkerFunction] = {w.name: w for w in (ROOM_WORKER, NOTIFIER, WAITLIST_WORKER, TASK_WORKER)}

# Presets the domains' queue declarations share.
EXPONENTIAL_FROM_1S = Backoff(type=BackoffKind.EXPONENTIAL, delay=1)
EXPONENTIAL_FROM_2S = Backoff(type=BackoffKind.EXPONENTIAL, delay=2)
# The BullMQ system's removeOnComplete (24 h or 1,000 jobs) and removeOnFail (7 days or 5,000 jobs).
KEEP_A_DAY = Retention(count=1_000, age_seconds=DAY)
KEEP_A_WEEK = Retention(count=5_000, age_seconds=7 * DAY)


def queue_settings(name: str, consumer: WorkerFunction, **settings: Any) -> QueueSettings:
    """A queue whose template resource is named after it: `room-generation` → `RoomGenerationQueue`."""
    logical_id = "".join(part.title() for part in name.split("-")) + "Queue"
    return QueueSettings(name=name, logical_id=logical_id, consumer=consumer, **settings)


def notification_queue(name: str, **settings: Any) -> QueueSettings:
    """A queue of the notifier's: the first try and 3 retries, after 1 s, 2 s and 4 s, unless `settings` say else."""
    defaults = {"attempts": 4, "backoff": EXPONENTIAL_FROM_1S, "job_timeout_seconds": 50}
    return queue_settings(name, NOTIFIER, **{**defaults, **settings})


def one_at_a_time_queue(name: str, consumer: WorkerFunction, **settings: Any) -> QueueSettings:
    """A queue of long jobs (a year of rooms, an upload, an export): one per invocation, so one slow
    job never holds nine others past their visibility timeout."""
    return queue_settings(name, consumer, batch_size=1, **{"attempts": 3, "backoff": EXPONENTIAL_FROM_2S, **settings})


# The platform's own queue: signed callbacks, which a job of any queue may ask for.
WEBHOOKS = "webhooks"
# The first try and 5 retries, after 2, 4, 8, 16 and 32 s.
_WEBHOOKS_QUEUE = queue_settings(
    WEBHOOKS, NOTIFIER, attempts=6, backoff=EXPONENTIAL_FROM_2S, job_timeout_seconds=30, internal=True
)


class QueueRegistry(MutableMapping[str, QueueSettings]):
    """Every queue by name: the platform's own and each domain's (`jobline.domains.<name>.queues`).

    Filled on first use, not at import, so that no caller has to load the domains first and a
    domain's queue module may import this one. Listed by consumer, in WORKER_FUNCTIONS order (as
    template.yaml lists the event sources), then in the catalog's order. Writable so a test may
    add a queue of its own.
    """

    def __init__(self) -> None:
        self._queues: dict[str, QueueSettings] | None = None

    def _loaded(self) -> dict[str, QueueSettings]:
        if self._queues is None:
            self._queues = _every_declared_queue()
        return self._queues

    def __getitem__(self, name: str) -> QueueSettings:
        return self._loaded()[name]

    def __setitem__(self, name: str, settings: QueueSettings) -> None:
        self._loaded()[name] = settings

    def __delitem__(self, name: str) -> None:
        del self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _every_declared_queue() -> dict[str, QueueSettings]:
    """The registry's content; a name declared twice, or a consumer that is no worker function, raises."""
    declared = [*catalog.load_all_queues(), _WEBHOOKS_QUEUE]
    unknown = [q.name for q in declared if q.consumer.name not in WORKER_FUNCTIONS]
    if unknown:
        raise ValueError(f"queues {unknown} are consumed by no function of WORKER_FUNCTIONS")
    rank = {name: position for position, name in enumerate(WORKER_FUNCTIONS)}
    queues: dict[str, QueueSettings] = {}
    for queue in sorted(declared, key=lambda q: rank[q.consumer.name]):
        if queue.name in queues:
            raise ValueError(f"queue {queue.name!r} is declared twice")
        queues[queue.name] = queue
    return queues


QUEUES = QueueRegistry()


def get_queue(name: str) -> QueueSettings:
    """The settings of queue `name`; raises UnknownQueue for any other name."""
    try:
        return QUEUES[name]
    except KeyError:
        raise UnknownQueue(name) from None


def queues_consumed_by(function_name: str) -> list[QueueSettings]:
    """The queues whose messages `functions/<function_name>` receives."""
    return [q for q in QUEUES.values() if q.consumer.name == function_name]
