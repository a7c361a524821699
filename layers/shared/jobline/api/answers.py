"""The answer to an enqueue, shared by every route that adds a job."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from jobline import enqueue
from jobline.api.envelope import Envelope, ok, responses
from jobline.api.models import JobCreated
from jobline.states import JobState

ENQUEUE_RESPONSES = responses(
    HTTPStatus.FORBIDDEN,  # an admin-only task started without the admin role
    HTTPStatus.NOT_FOUND,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    HTTPStatus.SERVICE_UNAVAILABLE,
    success=(HTTPStatus.OK, HTTPStatus.CREATED, HTTPStatus.ACCEPTED),
)


def enqueued(result: enqueue.Enqueued) -> Response[Envelope[JobCreated]]:
    """201 for a new job, 202 when it waits for its time, 200 when an idempotency key found an existing one."""
    if not result.created:
        return ok(JobCreated.of(result), "job already exists", status=HTTPStatus.OK)
    if result.job.state is JobState.DELAYED:
        return ok(JobCreated.of(result), "job scheduled", status=HTTPStatus.ACCEPTED)
    return ok(JobCreated.of(result), "job queued", status=HTTPStatus.CREATED)
