"""Queue stats for any signed-in user (the bulk-upload pages poll these), BullMQ's `queue.add(name,
data, opts)` over HTTP, and the helpers the other routers share: queue-name checks and
tenant-scoped stats of several queues."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Protocol

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from jobline import auth
from jobline.api import deps
from jobline.api.answers import ENQUEUE_RESPONSES
from jobline.api.envelope import Envelope, responses
from jobline.api.errors import InvalidRequest
from jobline.api.schemas import JobCreatedAnswer, JobView, QueueNamePath, QueuePaused, QueueStatsView, RanInRequest
from jobline.core.errors import InvalidPayload, UnknownJobType
from jobline.core.job import Job
from jobline.core.queues import QUEUES, get_queue
from jobline.core.registry import NeedsRole, QuotaExceeded
from jobline.domains.bulk.queues import BULK_UPLOAD_MECHANICS, BULK_UPLOAD_POLICIES, BULK_UPLOAD_SERVICE_PROVIDERS
from jobline.domains.rooms.queues import ROOM_GENERATION
from jobline.engine import operations
from jobline.engine.enqueue import JobOptions
from jobline.runtime import Runtime

router = APIGatewayHttpRouter()
TAGS = ["queues"]


# Queues whose jobs are added through routes of their own, which check more than the payload
# (the caller's room category, the caller's upload in S3).
OWN_ROUTES = {
    ROOM_GENERATION: "POST /api/v1/room-generation",
    BULK_UPLOAD_MECHANICS: "POST /api/v1/bulk-upload/mechanics",
    BULK_UPLOAD_SERVICE_PROVIDERS: "POST /api/v1/bulk-upload/service-providers",
    BULK_UPLOAD_POLICIES: "POST /api/v1/bulk-upload/policies",
}


class AddJobRequest(BaseModel):
    """BullMQ's `queue.add(name, data, opts)`: `addExportJob('bookings-csv', {filters}, {priority: 1})`
    is `{"name": "bookings-csv", "data": {"filters": {}}, "opts": {"priority": 1}}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=128, description="the job name (its type on this queue)")
    data: dict[str, Any] = Field(default_factory=dict, description="the job's payload")
    opts: JobOptions | None = Field(
        default=None,
        validation_alias=AliasChoices("opts", "options"),
        description="job options (`options` is accepted too); times in milliseconds",
    )


def public_queue(name: str) -> str:
    """`name`, if a route may put jobs on it: 404 for an unknown queue, 403 for an internal one
    (signed callbacks, the waitlist's steps), whoever asks.

    Every route that adds, schedules or triggers a job on a queue a caller names (or a queue a
    route picks for the caller) passes it through here: a job a caller could place on `webhooks`
    would be a callback Jobline signs with a body of the caller's choosing.
    """
    if get_queue(name).internal:
        raise auth.PermissionDenied(f"queue {name!r} is internal: only Jobline adds its jobs")
    return name


def addable_queue(name: str) -> str:
    """`name`, if a caller may add jobs to it by name: a public queue whose jobs have no route of
    their own (422 for one that has)."""
    public_queue(name)
    if name in OWN_ROUTES:
        raise InvalidRequest("path.queueName", f"jobs of {name!r} are added with {OWN_ROUTES[name]}")
    return name


def known_queue(name: str) -> str:
    """`name`, if the registry has that queue; UnknownQueue (404) otherwise."""
    return get_queue(name).name


def stats_views(runtime: Runtime, names: Iterable[str], *, tenant_id: str | None) -> list[QueueStatsView]:
    """Stats of each queue in `names`, for one tenant (every tenant when None)."""
    return [QueueStatsView.of(operations.queue_stats(runtime, name, tenant_id=tenant_id)) for name in names]


def set_paused(
    runtime: Runtime, names: Sequence[str], *, paused: bool, tenant_id: str | None, label: str
) -> Envelope[QueuePaused]:
    """Pause (or resume) each queue in `names` for one tenant (every tenant when None); the answer says
    `<label> paused` (or resumed), and for which tenant."""
    change = operations.pause_queue if paused else operations.resume_queue
    for name in names:
        change(runtime, name, tenant_id=tenant_id)
    done = "paused" if paused else "resumed"
    message = f"{label} {done}" if tenant_id is None else f"{label} {done} for tenant {tenant_id}"
    return Envelope(message=message, data=QueuePaused(queues=list(names), paused=paused))


class JobAction(Protocol):
    """An operation on one job (get, retry, promote, remove), as engine/operations.py names them."""

    def __call__(self, runtime: Runtime, job_id: str, *, queue: str | None, tenant_id: str | None) -> Job: ...


def act_on_job(
    action: JobAction, runtime: Runtime, queue: str, job_id: str, caller: auth.Principal, message: str
) -> Envelope[JobView]:
    """`action` on job `job_id` of `queue` (404 for an unknown queue), as far as the caller may see it."""
    job = action(runtime, job_id, queue=known_queue(queue), tenant_id=caller.scope)
    return Envelope(message=message, data=JobView.of(job))


@router.get("/queues/stats", summary="Job counts of every queue", tags=TAGS, responses=responses())
def all_queue_stats(runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[list[QueueStatsView]]:
    """The caller's jobs per state in each queue (every tenant's for operators)."""
    return Envelope(message="queue stats", data=stats_views(runtime, QUEUES, tenant_id=caller.scope))


@router.post(
    "/queues/<queueName>/jobs", summary="Add a job by name (BullMQ's queue.add)", tags=TAGS, responses=ENQUEUE_RESPONSES
)
def add_job(
    queue_name: QueueNamePath, body: Annotated[AddJobRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[JobCreatedAnswer | RanInRequest]:
    """Add job `name` with `data` and `opts` to `queueName`; the job type checks the data (422 naming the field)."""
    # Imported here: jobs.py and tasks.py check their queue with public_queue from this module.
    from jobline.api.jobs import add_from_request

    queue = addable_queue(queue_name)
    try:
        return add_from_request(runtime, caller, queue=queue, name=body.name, data=body.data, options=body.opts)
    except UnknownJobType as exc:
        raise InvalidRequest("body.name", str(exc)) from exc
    except (InvalidPayload, NeedsRole, QuotaExceeded) as exc:
        # The payload is the body's `data` here, so its fields are named under it.
        raise exc.relocated(lambda loc: ("data", *loc)) from exc


@router.get("/queues/<queueName>/stats", summary="Job counts of one queue", tags=TAGS, responses=responses(404))
def one_queue_stats(
    queue_name: QueueNamePath, runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Envelope[QueueStatsView]:
    """The caller's jobs per state in `queueName`."""
    stats = operations.queue_stats(runtime, queue_name, tenant_id=caller.scope)
    return Envelope(message="queue stats", data=QueueStatsView.of(stats))
