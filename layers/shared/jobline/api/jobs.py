"""Generic jobs: enqueue email, sms, export, file and task jobs; their status and stats."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobline import enqueue, operations
from jobline.api import deps
from jobline.api.answers import ENQUEUE_RESPONSES, enqueued
from jobline.api.envelope import Envelope, responses
from jobline.api.models import JobCreated, JobIdPath, JobRequest, JobView, QueueStatsView
from jobline.api.tasks import TASK_QUEUE, check_task_role
from jobline.errors import UnknownQueue
from jobline.exports import objects

router = APIGatewayHttpRouter()

# Route type → job name on the queue of the same name.
JOB_NAMES: dict[str, str] = {
    "email": "send-email",
    "sms": "send-sms",
    "data-export": "export",
    "file-processing": "process-file",
    "generic-task": "run-task",
}
FILE_QUEUE = "file-processing"

TypePath = Annotated[str, Path(max_length=64, description=f"One of: {', '.join(JOB_NAMES)}.", examples=list(JOB_NAMES))]


def queue_of(job_type: str) -> str:
    """The queue a generic job type runs on; UnknownQueue for any other type."""
    if job_type not in JOB_NAMES:
        raise UnknownQueue(job_type)
    return job_type


@router.post("/jobs/<type>", summary="Enqueue a generic job", tags=["jobs"], responses=ENQUEUE_RESPONSES)
def add_job(
    type: TypePath, body: Annotated[JobRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[JobCreated]]:
    """The body is the job's payload plus optional `options`; the job type validates the payload."""
    queue = queue_of(type)
    data = body.payload()
    if queue == TASK_QUEUE:
        check_task_role(data.get("task"), data.get("params"), caller)
    if queue == FILE_QUEUE and "key" in data:
        # Refuse another tenant's object now, rather than as a failed job later.
        objects.check_tenant_key(str(data.get("key", "")), caller.tenant_id)
    result = enqueue.enqueue(
        runtime,
        queue=queue,
        name=JOB_NAMES[queue],
        data=data,
        tenant_id=caller.tenant_id,
        user_id=caller.user_id,
        options=body.options,
    )
    return enqueued(result)


# Registered before the waitlist router's /jobs/<queueName>/<jobId>, which would
# otherwise see `stats` as a job id.
@router.get("/jobs/<type>/stats", summary="Job counts of a generic queue", tags=["jobs"], responses=responses(404))
def job_stats(type: TypePath, runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[QueueStatsView]:
    """Counts per state for the caller's tenant (every tenant for operators)."""
    stats = operations.queue_stats(runtime, queue_of(type), tenant_id=caller.scope)
    return Envelope(message="queue stats", data=QueueStatsView.of(stats))


@router.get("/jobs/<type>/<jobId>/status", summary="A generic job's status", tags=["jobs"], responses=responses(404))
def job_status(
    type: TypePath, job_id: JobIdPath, runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Envelope[JobView]:
    """The job, if it is the caller's (404 otherwise, so ids do not leak)."""
    job = operations.get_job(runtime, job_id, queue=queue_of(type), tenant_id=caller.scope)
    return Envelope(message="job status", data=JobView.of(job))
