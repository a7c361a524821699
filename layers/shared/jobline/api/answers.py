"""Adding a job for the caller and the answer to it, shared by every route that adds a job."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from jobline.api.deps import job_owner
from jobline.api.envelope import responses
from jobline.api.schemas import JobCreated, JobCreatedAnswer
from jobline.auth import Principal
from jobline.core.registry import get_job_type
from jobline.core.states import JobState
from jobline.engine import enqueue
from jobline.engine.enqueue import JobOptions
from jobline.runtime import Runtime

ENQUEUE_RESPONSES = responses(
    HTTPStatus.FORBIDDEN,  # an admin-only task started without the admin role
    HTTPStatus.NOT_FOUND,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    HTTPStatus.TOO_MANY_REQUESTS,  # the tenant's daily e-mail or SMS quota is spent
    HTTPStatus.SERVICE_UNAVAILABLE,
    success=(HTTPStatus.OK, HTTPStatus.CREATED, HTTPStatus.ACCEPTED),
)


# Where a job's status is polled, as seed 001's clients build it (served by api/jobs.py).
STATUS_PATH = "/api/jobs/{queue}/{job_id}/status"


def enqueue_for(
    runtime: Runtime,
    caller: Principal,
    *,
    queue: str,
    name: str,
    data: dict[str, Any],
    options: JobOptions | None,
) -> Response[JobCreatedAnswer]:
    """Add the job as the caller's (its tenant and user) and answer 201 for a new job, 202 when it waits
    for its time, 200 when an idempotency key found an existing one."""
    # Every route that adds a job for a caller passes here (jobs, queues, tasks, and the jobs route's
    # fallback, which runs only after this): the job type says whether this caller may add it.
    get_job_type(queue, name).authorize(data, caller)
    result = enqueue.enqueue(runtime, queue=queue, name=name, data=data, options=options, **job_owner(caller))
    if not result.created:
        status, message = HTTPStatus.OK, "job already exists"
    elif result.job.state is JobState.DELAYED:
        status, message = HTTPStatus.ACCEPTED, "job scheduled"
    else:
        status, message = HTTPStatus.CREATED, "job queued"
    job = result.job
    body = JobCreatedAnswer(
        message=message,
        data=JobCreated.of(result),
        job_id=job.id,
        check_status_at=STATUS_PATH.format(queue=job.queue, job_id=job.id),
    )
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)
