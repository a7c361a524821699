"""Generic jobs: enqueue email, sms, export, file and task jobs; their status and stats."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobline import auth
from jobline.api import deps
from jobline.api.answers import ENQUEUE_RESPONSES, enqueue_for
from jobline.api.deps import job_owner
from jobline.api.envelope import responses
from jobline.api.errors import ForeignSubAccount
from jobline.api.queues import public_queue
from jobline.api.schemas import (
    JobCreatedAnswer,
    JobIdPath,
    JobRequest,
    JobStatusAnswer,
    JobView,
    QueueStatsAnswer,
    RanInRequest,
    RanInRequestView,
)
from jobline.api.tasks import TASK_QUEUE, check_task_role
from jobline.core.errors import UnknownQueue
from jobline.core.queues import get_queue
from jobline.domains.bulk.queues import FILE_PROCESSING
from jobline.domains.exports import objects
from jobline.domains.exports.queues import DATA_EXPORT
from jobline.domains.notifications.queues import EMAIL, SMS
from jobline.engine import inline, operations
from jobline.engine.enqueue import JobOptions
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

router = APIGatewayHttpRouter()

# Route type → job name on the queue of the same name.
JOB_NAMES: dict[str, str] = {
    EMAIL: "send-email",
    SMS: "send-sms",
    DATA_EXPORT: "export",
    FILE_PROCESSING: "process-file",
    TASK_QUEUE: "run-task",
}

TypePath = Annotated[
    str,
    Path(
        max_length=64,
        description=f"To add: one of {', '.join(JOB_NAMES)}. To read: any queue name.",
        examples=list(JOB_NAMES),
    ),
]


def queue_of(job_type: str) -> str:
    """The queue a generic job type runs on; 403 for an internal queue, UnknownQueue for any other type."""
    public_queue(job_type)  # 404 for no such queue; 403 for an internal one, as on every adding route
    if job_type not in JOB_NAMES:
        raise UnknownQueue(job_type)
    return job_type


def check_sub_account(data: dict[str, Any], caller: auth.Principal) -> None:
    """ForeignSubAccount unless a `subAccountId` in the payload is the caller's own tenant: the
    seeds' clients send it, but the tenant always comes from the token, never from the body."""
    if "subAccountId" in data and data["subAccountId"] != caller.tenant_id:
        raise ForeignSubAccount(f"subAccountId must be your own tenant ({caller.tenant_id})")


def _runs_later(options: JobOptions | None) -> bool:
    # A delayed or recurring job's point is its time: it cannot be done now instead.
    if options is None:
        return False
    return bool(options.delay or options.run_at or options.repeat)


def add_from_request(
    runtime: Runtime,
    caller: auth.Principal,
    *,
    queue: str,
    name: str,
    data: dict[str, Any],
    options: JobOptions | None,
) -> Response[Any]:
    """Add a job for the caller, after the checks every adding route shares; when the queue or the
    job store cannot take it, e-mails and exports run in the request instead (`sync: true`)."""
    check_sub_account(data, caller)
    if queue == TASK_QUEUE:
        check_task_role(data.get("task"), data.get("params"), caller)
    if queue == FILE_PROCESSING and "key" in data:
        # Refuse another tenant's object now, rather than as a failed job later.
        objects.check_tenant_key(str(data.get("key", "")), caller.tenant_id)
    try:
        return enqueue_for(runtime, caller, queue=queue, name=name, data=data, options=options)
    except Exception as exc:
        if not get_queue(queue).sync_fallback or _runs_later(options) or not inline.is_unavailable(exc):
            raise
        logger.warning("queue or job store unavailable: running the job in the request", exc_info=True)
        return _ran_in_request(runtime, caller, queue=queue, name=name, data=data)


def _ran_in_request(
    runtime: Runtime, caller: auth.Principal, *, queue: str, name: str, data: dict[str, Any]
) -> Response[RanInRequest]:
    budget = inline.REQUEST_BUDGET_SECONDS
    job = inline.run_in_request(
        runtime, queue=queue, name=name, data=data, remaining_seconds=budget, **job_owner(caller)
    )
    view = RanInRequestView(**JobView.shown_to(job, caller).model_dump())
    body = RanInRequest(message="the queue is unavailable: the job ran in the request (it is not kept)", data=view)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body)


@router.post("/jobs/<type>", summary="Enqueue a generic job", tags=["jobs"], responses=ENQUEUE_RESPONSES)
def add_job(
    type: TypePath, body: Annotated[JobRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[JobCreatedAnswer | RanInRequest]:
    """The body is the job's payload plus optional `options`; the job type validates the payload."""
    queue = queue_of(type)
    return add_from_request(
        runtime, caller, queue=queue, name=JOB_NAMES[queue], data=body.payload(), options=body.options
    )


# Registered before the waitlist router's /jobs/<queueName>/<jobId>, which would
# otherwise see `stats` as a job id.
@router.get("/jobs/<type>/stats", summary="Job counts of a queue", tags=["jobs"], responses=responses(404))
def job_stats(type: TypePath, runtime: deps.RuntimeDep, caller: deps.CallerDep) -> QueueStatsAnswer:
    """Counts per state for the caller's tenant (every tenant for operators); `succeeded` is `completed`."""
    stats = operations.queue_stats(runtime, get_queue(type).name, tenant_id=caller.scope)
    return QueueStatsAnswer.of(stats, "queue stats")


@router.get("/jobs/<type>/<jobId>/status", summary="A job's status", tags=["jobs"], responses=responses(404))
def job_status(type: TypePath, job_id: JobIdPath, runtime: deps.RuntimeDep, caller: deps.CallerDep) -> JobStatusAnswer:
    """The job in queue `type`, if the caller added it or is an admin of its tenant (404 otherwise, so ids
    do not leak); stack traces and hosts in `failedReason` only for admins."""
    job = deps.visible_job(runtime, job_id, queue=get_queue(type).name, caller=caller)
    return JobStatusAnswer.of(job, "job status", caller)
