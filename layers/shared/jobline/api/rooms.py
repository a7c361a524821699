"""Room generation and room category routes, as the Bull-based room service had them."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from jobline import operations
from jobline.api import deps
from jobline.api.envelope import Envelope, ok, responses
from jobline.api.models import ApiModel, JobIdPath, JobView, QueueStatsView
from jobline.rooms import service
from jobline.rooms.generation import QUEUE
from jobline.rooms.schemas import RoomCategoryCreate, RoomGenerationRequest

router = APIGatewayHttpRouter()

# An immediate generation runs inside the request; API Gateway gives up after 30 s, so
# the attempt gets less, and the queue's worker takes over anything that runs longer.
INLINE_BUDGET_SECONDS = 25


class GenerationResult(ApiModel):
    """The answer of an immediate generation that completed (the Bull service's shape)."""

    success: bool
    total_rooms_created: int
    total_dates_processed: int
    errors: list[str]
    job_id: str


class GenerationQueued(ApiModel):
    """The answer of a generation left to the worker: queued now, or scheduled for later."""

    job_id: str
    state: str
    scheduled_at: dt.datetime | None = None
    estimated_completion: dt.datetime | None = None


class CategoryView(ApiModel):
    id: uuid.UUID
    name: str
    base_price: decimal.Decimal
    created_at: dt.datetime


class RoomStatsView(ApiModel):
    total_rooms: int
    available_rooms: int
    booked_rooms: int
    blocked_rooms: int


@router.post(
    "/room-generation",
    summary="Generate one room per day for a room category",
    tags=["room-generation"],
    responses=responses(HTTPStatus.NOT_FOUND, success=(HTTPStatus.CREATED, HTTPStatus.ACCEPTED)),
)
def generate(
    body: Annotated[RoomGenerationRequest, Body()], runtime: deps.RuntimeDep, caller: deps.CallerDep
) -> Response[Envelope[GenerationResult | GenerationQueued]]:
    """Up to a year runs now and answers with the result; longer ranges and schedules answer 202 with the job."""
    outcome = service.request_generation(
        runtime, body, tenant_id=caller.tenant_id, user_id=caller.user_id, remaining_seconds=INLINE_BUDGET_SECONDS
    )
    job = outcome.job
    if outcome.kind == "completed":
        result = GenerationResult(
            success=job.result["success"],
            total_rooms_created=job.result["totalRoomsCreated"],
            total_dates_processed=job.result["totalDatesProcessed"],
            errors=job.result["errors"],
            job_id=job.id,
        )
        return ok(result.model_dump(mode="json", by_alias=True), job.result["message"], status=HTTPStatus.CREATED)
    queued = GenerationQueued(
        job_id=job.id,
        state=job.state,
        scheduled_at=job.run_at if outcome.kind == "scheduled" else None,
        estimated_completion=outcome.estimated_completion,
    )
    message = "room generation scheduled" if outcome.kind == "scheduled" else "room generation queued"
    return ok(queued.model_dump(mode="json", by_alias=True), message, status=HTTPStatus.ACCEPTED)


@router.get(
    "/room-generation/job/<jobId>",
    summary="A room generation job: state, progress, result and data",
    tags=["room-generation"],
    responses=responses(HTTPStatus.NOT_FOUND),
)
def generation_job(job_id: JobIdPath, runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[JobView]:
    job = operations.get_job(runtime, job_id, queue=QUEUE, tenant_id=caller.scope)
    return Envelope(message="job found", data=JobView.of(job))


@router.get(
    "/room-generation/queue/stats",
    summary="Room generation queue counts for the caller's tenant",
    tags=["room-generation"],
    responses=responses(),
)
def generation_queue_stats(runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[QueueStatsView]:
    stats = operations.queue_stats(runtime, QUEUE, tenant_id=caller.scope)
    return Envelope(message="queue stats", data=QueueStatsView.of(stats))


@router.get(
    "/room-generation/stats/<roomCategoryId>",
    summary="Rooms of a category by status, within an optional date range",
    tags=["room-generation"],
    responses=responses(HTTPStatus.NOT_FOUND),
)
def room_stats(
    room_category_id: Annotated[uuid.UUID, Path(alias="roomCategoryId")],
    runtime: deps.RuntimeDep,
    caller: deps.CallerDep,
    start_date: Annotated[dt.date | None, Query(alias="startDate")] = None,
    end_date: Annotated[dt.date | None, Query(alias="endDate")] = None,
) -> Envelope[RoomStatsView]:
    counts = service.room_stats(runtime, room_category_id, tenant_id=caller.tenant_id, start=start_date, end=end_date)
    return Envelope(message="room stats", data=RoomStatsView.model_validate(counts))


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
    return ok(view.model_dump(mode="json", by_alias=True), "room category created", status=HTTPStatus.CREATED)


@router.get("/room-categories", summary="The caller's room categories", tags=["room-generation"], responses=responses())
def list_categories(runtime: deps.RuntimeDep, caller: deps.CallerDep) -> Envelope[list[CategoryView]]:
    categories = service.list_categories(runtime, tenant_id=caller.tenant_id)
    views = [CategoryView.model_validate(c, from_attributes=True) for c in categories]
    return Envelope(message=f"{len(views)} room categories", data=views)
