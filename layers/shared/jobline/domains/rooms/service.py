"""Room generation requests, categories and stats: what the API routes call."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from jobline.core.clock import as_utc
from jobline.core.errors import Conflict, EnqueueFailed, InvalidPayload, NotFound
from jobline.core.job import Job
from jobline.core.states import JobState
from jobline.domains.rooms import jobs as _jobs  # noqa: F401 - the job type must be registered to enqueue it
from jobline.domains.rooms.generation import JOB_NAME, days_in, find_category
from jobline.domains.rooms.queues import ROOM_GENERATION
from jobline.domains.rooms.schemas import (
    GenerateRoomsPayload,
    RoomCategoryCreate,
    RoomGenerationRequest,
    ScheduleType,
    utc_day,
    utc_moment,
)
from jobline.domains.rooms.tables import Room, RoomCategory, RoomStatus
from jobline.engine import inline
from jobline.engine.enqueue import MAX_DELAY, JobOptions, enqueue
from jobline.runtime import Runtime
from jobline.telemetry.observability import logger

# Up to a year of rooms is created within the request; longer ranges go to the worker.
INLINE_MAX_DAYS = 366
MAX_RANGE_YEARS = 5
# For `estimatedCompletion`: a batch statement and its progress write take well under this.
ESTIMATED_SECONDS_PER_BATCH = 0.5


class CategoryNotFound(NotFound):
    def __init__(self, category_id: uuid.UUID) -> None:
        super().__init__(f"room category {category_id} not found")


class CategoryExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"a room category named {name!r} already exists")


class GenerationUnavailable(EnqueueFailed):
    """The queue or job store cannot take the job, and the request may not run in its place
    (scheduled, or longer than a request may take): nothing was created."""


@dataclasses.dataclass(frozen=True)
class GenerationOutcome:
    """What a generation request led to: `kind` is completed, queued or scheduled, or `sync` when
    the queue was unavailable and the request generated the rooms itself (the job is not kept)."""

    kind: str
    job: Job
    estimated_completion: dt.datetime | None = None
    notes: tuple[str, ...] = ()


def _years_after(day: dt.date, years: int) -> dt.date:
    if day.year + years > dt.MAXYEAR:
        return dt.date.max  # past the calendar's end: every later date is "too far" all the same
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def check_generation_request(request: RoomGenerationRequest, *, now: dt.datetime) -> None:
    """Raise InvalidPayload naming every field at fault: dates, range length, schedule."""
    errors: list[dict[str, Any]] = []

    def fault(field: str, message: str) -> None:
        errors.append({"loc": (field,), "msg": message, "type": "value_error"})

    if request.first_day < now.date():
        fault("startDate", "must not be in the past")
    # Moments, so that a day given as `…T00:00:00.000Z` to `…T23:59:59.999Z` is one day,
    # while two equal plain dates stay refused, as they always were.
    if utc_moment(request.end_date) <= utc_moment(request.start_date):
        fault("endDate", "must be after startDate")
    elif request.last_day > _years_after(request.first_day, MAX_RANGE_YEARS):
        fault("endDate", f"the range must not exceed {MAX_RANGE_YEARS} years")
    if request.schedule_type is ScheduleType.SCHEDULED:
        if request.scheduled_at is None:
            fault("scheduledAt", "is required when scheduleType is scheduled")
        elif as_utc(request.scheduled_at) <= now:
            fault("scheduledAt", "must be in the future")
        elif as_utc(request.scheduled_at) - now > MAX_DELAY:
            fault("scheduledAt", f"must be within {MAX_DELAY.days} days")
    if errors:
        raise InvalidPayload(errors)


def estimate_duration(request: RoomGenerationRequest) -> dt.timedelta:
    batches = math.ceil(days_in(request.first_day, request.last_day) / request.batch_size)
    return dt.timedelta(seconds=math.ceil(1 + batches * ESTIMATED_SECONDS_PER_BATCH))


def _notes(request: RoomGenerationRequest) -> tuple[str, ...]:
    # The Bull service's own example sends `scheduledAt` with an immediate generation ("required
    # for scheduled jobs"): accepted as written, and the answer says it did not apply.
    if request.schedule_type is ScheduleType.IMMEDIATE and request.scheduled_at is not None:
        return ("scheduledAt applies to scheduled generations only and was ignored",)
    return ()


def request_generation(
    runtime: Runtime,
    request: RoomGenerationRequest,
    *,
    tenant_id: str,
    user_id: str | None = None,
    remaining_seconds: float | None = None,
) -> GenerationOutcome:
    """Validate, then run now (up to a year), queue (longer) or schedule the generation.

    When the queue or job store cannot take the job, up to a year is generated in the request
    all the same (rooms are idempotent by category and day) and the outcome says `sync`; a
    scheduled or longer generation raises GenerationUnavailable, having created nothing.
    """
    now = runtime.clock()
    check_generation_request(request, now=now)
    with runtime.sessions() as session:
        if find_category(session, tenant_id=tenant_id, category_id=request.room_category_id) is None:
            raise CategoryNotFound(request.room_category_id)
    payload = GenerateRoomsPayload.model_validate(request.model_dump(include=set(GenerateRoomsPayload.model_fields)))
    data = payload.model_dump(mode="json", by_alias=True)
    submit = functools.partial(
        enqueue, runtime, queue=ROOM_GENERATION, name=JOB_NAME, data=data, tenant_id=tenant_id, user_id=user_id
    )
    days = days_in(request.first_day, request.last_day)
    scheduled = request.schedule_type is ScheduleType.SCHEDULED

    try:
        if scheduled:
            assert request.scheduled_at is not None  # checked above
            run_at = as_utc(request.scheduled_at)
            job = submit(options=JobOptions(run_at=run_at)).job
            return GenerationOutcome("scheduled", job, run_at + estimate_duration(request))
        if days > INLINE_MAX_DAYS:
            job = submit().job
            return GenerationOutcome("queued", job, now + estimate_duration(request), _notes(request))
        job = submit(message_delay=inline.SAFETY_NET_DELAY_SECONDS).job
    except Exception as exc:
        if not inline.is_unavailable(exc):
            raise
        if scheduled:
            raise GenerationUnavailable(
                "the job queue is unavailable, so the generation cannot be scheduled now;"
                " nothing was created, try again later"
            ) from exc
        if days > INLINE_MAX_DAYS:
            raise GenerationUnavailable(
                f"the job queue is unavailable, and {days} days is more than the {INLINE_MAX_DAYS} a request"
                " generates itself; nothing was created, try again later"
            ) from exc
        logger.warning(
            "room generation queue unavailable: generating in the request",
            exc_info=True,
            extra={"queue": ROOM_GENERATION, "tenant_id": tenant_id, "days": days},
        )
        budget = inline.REQUEST_BUDGET_SECONDS if remaining_seconds is None else remaining_seconds
        job = inline.run_in_request(
            runtime,
            queue=ROOM_GENERATION,
            name=JOB_NAME,
            data=data,
            tenant_id=tenant_id,
            user_id=user_id,
            remaining_seconds=budget,
        )
        return GenerationOutcome("sync", job, notes=_notes(request))

    job = inline.run_inline(runtime, job, remaining_seconds=remaining_seconds)
    kind = "completed" if job.state is JobState.COMPLETED else "queued"
    estimate = None if kind == "completed" else now + estimate_duration(request)
    return GenerationOutcome(kind, job, estimate, _notes(request))


def create_category(runtime: Runtime, body: RoomCategoryCreate, *, tenant_id: str) -> RoomCategory:
    """A new room category of the tenant; CategoryExists if the name is taken."""
    try:
        with runtime.sessions.begin() as session:
            category = RoomCategory(tenant_id=tenant_id, name=body.name, base_price=body.base_price)
            session.add(category)
            session.flush()
            session.refresh(category)
    except IntegrityError as exc:
        raise CategoryExists(body.name) from exc
    return category


def list_categories(runtime: Runtime, *, tenant_id: str) -> list[RoomCategory]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                sa.select(RoomCategory).where(RoomCategory.tenant_id == tenant_id).order_by(RoomCategory.name)
            )
        )


@dataclasses.dataclass(frozen=True)
class RoomStats:
    """Rooms of a category by status, within [first_day, last_day] (None: unbounded)."""

    category_id: uuid.UUID
    first_day: dt.date | None
    last_day: dt.date | None
    total: int
    available: int
    booked: int
    blocked: int


def room_stats(
    runtime: Runtime, category_id: uuid.UUID, *, tenant_id: str, start: dt.date | None, end: dt.date | None
) -> RoomStats:
    """Room counts by status for the tenant's category, within the UTC days of [start, end] when given
    (each a plain date or a date-time)."""
    first = utc_day(start) if start is not None else None
    last = utc_day(end) if end is not None else None
    if first is not None and last is not None and last < first:
        raise InvalidPayload([{"loc": ("endDate",), "msg": "must not be before startDate", "type": "value_error"}])
    conditions = [Room.tenant_id == tenant_id, Room.category_id == category_id]
    if first is not None:
        conditions.append(Room.date >= first)
    if last is not None:
        conditions.append(Room.date <= last)
    counted = sa.select(
        sa.func.count(),
        sa.func.count().filter(Room.status == RoomStatus.AVAILABLE),
        sa.func.count().filter(Room.status == RoomStatus.BOOKED),
        sa.func.count().filter(Room.status == RoomStatus.BLOCKED),
    ).where(*conditions)
    with runtime.sessions() as session:
        if find_category(session, tenant_id=tenant_id, category_id=category_id) is None:
            raise CategoryNotFound(category_id)
        total, available, booked, blocked = session.execute(counted).one()
    return RoomStats(category_id, first, last, total, available, booked, blocked)
