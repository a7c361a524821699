"""Room generation and room category routes, as the Bull-based room service had them."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from jobline.api import deps
from jobline.api.envelope import Envelope, ok, responses
from jobline.api.schemas import ApiModel, JobIdPath, JobView, QueueStatsView
from jobline.core.errors import InvalidPayload
from jobline.domains.rooms import service
from jobline.domains.rooms.queues import ROOM_GENERATION
from jobline.domains.rooms.schemas import (
    CategoryId,
    DayBound,
    RoomCategoryCreate,
    RoomGenerationRequest,
    end_of,
    js_iso,
    start_of,
)
from jobline.engine import operations

router = APIGatewayHttpRouter()

# An immediate generation runs inside the request; API Gateway gives up after 30 s, so
# the attempt gets less, and the queue's worker takes over anything that runs longer.
INLINE_BUDGET_SECONDS = 25
SYNC_NOTICE = "The job queue is unavailable, so the rooms were generated in the request (the job is not kept)"


class GenerationResult(ApiModel):
    """The answer of an immediate generation that completed (the Bull service's shape); `sync` when
    the queue was unavailable and the request generated the rooms itself (its job is not kept)."""

    success: bool
    total_rooms_created: int
    total_dates_processed: int
    errors: list[str]
    job_id: str
    sync: bool = False


class GenerationQueued(ApiModel):
    """The answer of a generation left to the worker: queued now, or scheduled for later."""

    job_id: str
    state: str
    scheduled_at: str | None = Field(default=None, examples=["2024-01-31T02:00:00.000Z"])
    estimated_completion: str | None = Field(default=None, examples=["2024-01-31T02:00:03.000Z"])


class CategoryView(ApiModel):
    id: uuid.UUID
    name: str
    base_price: decimal.Decimal
    created_at: dt.datetime


class DateRangeView(ApiModel):
    """The counted days, from the first moment of the first to the last millisecond of the last
    (`null`: unbounded)."""

    start_date: str | None = Field(default=None, examples=["2024-01-01T00:00:00.000Z"])
    end_date: str | None = Field(default=None, examples=["2024-01-31T23:59:59.999Z"])


class RoomStatsView(ApiModel):
    room_category_id: uuid.UUID
    date_range: DateRangeView
    total_rooms: int
    available_rooms: int
    booked_rooms: int
    blocked_rooms: int


def _message(outcome: service.GenerationOutcome) -> str:
    """What happened, as the Bull service said it, with any note about the request."""
    if outcome.kind == "completed":
        said = f"Room generation completed: {outcome.job.result['message']}"
    elif outcome.kind == "sync":
        said = f"{SYNC_NOTICE}: {outcome.job.result['message']}"
    elif outcome.kind == "scheduled":
        said = "Room generation job scheduled successfully"
    else:
        said = "Room generation job queued: the room worker takes it from here"
    return "; ".join((said, *outcome.notes))


@router.post(
    "/room-generation",
    summary="Generate one room per day for a room category",
    tags=["room-generation"],
    responses=responses(
        HTTPStatus.NOT_FOUND, HTTPStatus.SERVICE_UNAVAILABLE, success=(HTTPStatus.CREATED, HTTPStatus.ACCEPTED)
    ),
)
def generate(
    body: Annotated[RoomGenerationRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[GenerationResult | GenerationQueued]]:
    """Up to a year runs now and answers 201 with the result (`sync: true` when the queue was
    unavailable); longer ranges and schedules answer 202 with the job."""
    try:
        outcome = service.request_generation(
            runtime, body, remaining_seconds=INLINE_BUDGET_SECONDS, **deps.job_owner(caller)
        )
    except service.GenerationUnavailable as exc:
        # Said as it is, rather than the generic "a backing service is unavailable".
        raise ServiceError(HTTPStatus.SERVICE_UNAVAILABLE, str(exc)) from exc
    job = outcome.job
    if outcome.kind in ("completed", "sync"):
        result = GenerationResult(
            success=job.result["success"],
            total_rooms_created=job.result["totalRoomsCreated"],
            total_dates_processed=job.result["totalDatesProcessed"],
            errors=job.result["errors"],
            job_id=job.id,
            sync=outcome.kind == "sync",
        )
        return ok(result, _message(outcome), status=HTTPStatus.CREATED)
    queued = GenerationQueued(
        job_id=job.id,
        state=job.state,
        scheduled_at=js_iso(job.run_at) if outcome.kind == "scheduled" and job.run_at else None,
        estimated_completion=js_iso(outcome.estimated_completion) if outcome.estimated_completion else None,
    )
    return ok(queued, _message(outcome), status=HTTPStatus.ACCEPTED)


@router.get(
    "/room-generation/job/<jobId>",
    summary="A room generation job: state, progress, result and data",
    tags=["room-generation"],
    responses=responses(HTTPStatus.NOT_FOUND),
)
def generation_job(job_id: JobIdPath, runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[JobView]:
    """The job, if the caller asked for it or is an admin of its tenant (404 otherwise)."""
    job = deps.visible_job(runtime, job_id, queue=ROOM_GENERATION, caller=caller)
    return Envelope(message="job found", data=JobView.shown_to(job, caller))


@router.get(
    "/room-generation/queue/stats",
    summary="Room generation queue counts for the caller's tenant",
    tags=["room-generation"],
    responses=responses(),
)
def generation_queue_stats(runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[QueueStatsView]:
    stats = operations.queue_stats(runtime, ROOM_GENERATION, tenant_id=caller.scope)
    return Envelope(message="queue stats", data=QueueStatsView.of(stats))


@router.get(
    "/room-generation/stats/<roomCategoryId>",
    summary="Rooms of a category by status, within an optional date range",
    tags=["room-generation"],
    responses=responses(HTTPStatus.NOT_FOUND),
)
def room_stats(
    room_category_id: Annotated[CategoryId, Path(alias="roomCategoryId")],
    runtime: deps.RuntimeDep,
    caller: deps.CallerDep,
    start_date: Annotated[DayBound | None, Query(alias="startDate")] = None,
    end_date: Annotated[DayBound | None, Query(alias="endDate")] = None,
) -> Envelope[RoomStatsView]:
    """Counts by status within the UTC days of [startDate, endDate] (plain dates or ISO date-times)."""
    try:
        stats = service.room_stats(
            runtime, room_category_id, tenant_id=caller.tenant_id, start=start_date, end=end_date
        )
    except InvalidPayload as exc:  # the range's fields are query parameters here, not body fields
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in exc.errors]) from exc
    view = RoomStatsView(
        room_category_id=stats.category_id,
        date_range=DateRangeView(
            start_date=js_iso(start_of(stats.first_day)) if stats.first_day else None,
            end_date=js_iso(end_of(stats.last_day)) if stats.last_day else None,
        ),
        total_rooms=stats.total,
        available_rooms=stats.available,
        booked_rooms=stats.booked,
        blocked_rooms=stats.blocked,
    )
    return Envelope(message="room stats", data=view)


@router.post(
    "/room-categories",
    summary="Create a room category",
    tags=["room-generation"],
    responses=responses(HTTPStatus.CONFLICT, success=(HTTPStatus.CREATED,)),
)
def create_category(
    body: Annotated[RoomCategoryCreate, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[CategoryView]]:
    category = service.create_category(runtime, body, tenant_id=caller.tenant_id)
    view = CategoryView.model_validate(category, from_attributes=True)
    return ok(view, "room category created", status=HTTPStatus.CREATED)


@router.get("/room-categories", summary="The caller's room categories", tags=["room-generation"], responses=responses())
def list_categories(runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[list[CategoryView]]:
    categories = service.list_categories(runtime, tenant_id=caller.tenant_id)
    views = [CategoryView.model_validate(c, from_attributes=True) for c in categories]
    return Envelope(message=f"{len(views)} room categories", data=views)
