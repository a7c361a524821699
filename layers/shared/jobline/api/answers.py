"""The answer to an enqueue, shared by every route that adds a job."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types

from jobline.api.envelope import responses
from jobline.api.schemas import JobCreated, JobCreatedAnswer
from jobline.core.states import JobState
from jobline.engine import enqueue

ENQUEUE_RESPONSES = responses(
    HTTPStatus.FORBIDDEN,  # an admin-only task started without the admin role
    HTTPStatus.NOT_FOUND,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    HTTPStatus.SERVICE_UNAVAILABLE,
    success=(HTTPStatus.OK, HTTPStatus.CREATED, HTTPStatus.ACCEPTED),
)


# Where a job's status is polled, as seed 001's clients build it (served by api/jobs.py).
STATUS_PATH = "/api/jobs/{queue}/{job_id}/status"


def enqueued(result: enqueue.Enqueued) -> Response[JobCreatedAnswer]:
    """201 for a new job, 202 when it waits for its time, 200 when an idempotency key found an existing one."""
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
