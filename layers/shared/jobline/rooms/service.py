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

from jobline.clock import as_utc
from jobline.enqueue import JobOptions, enqueue
from jobline.errors import Conflict, InvalidPayload, NotFound
from jobline.inline import SAFETY_NET_DELAY_SECONDS, run_inline
from jobline.jobs import Job
from jobline.rooms import jobs as _jobs  # noqa: F401 - the job type must be registered to enqueue it
from jobline.rooms.generation import JOB_NAME, QUEUE, days_in, find_category
from jobline.rooms.models import Room, RoomCategory, RoomStatus
from jobline.rooms.schemas import GenerateRoomsPayload, RoomCategoryCreate, RoomGenerationRequest, ScheduleType
from jobline.runtime import Runtime
from jobline.states import JobState

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


@dataclasses.dataclass(frozen=True)
class GenerationOutcome:
    """What a generation request led to: `kind` is completed, queued or scheduled."""

    kind: str
    job: Job
    estimated_completion: dt.datetime | None = None


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

    if request.start_date < now.date():
        fault("startDate", "must not be in the past")
    if request.end_date <= request.start_date:
        fault("endDate", "must be after startDate")
    elif request.end_date > _years_after(request.start_date, MAX_RANGE_YEARS):
        fault("endDate", f"the range must not exceed {MAX_RANGE_YEARS} years")
    if request.schedule_type is ScheduleType.SCHEDULED:
        if request.scheduled_at is None:
            fault("scheduledAt", "is required when scheduleType is scheduled")
        elif as_utc(request.scheduled_at) <= now:
            fault("scheduledAt", "must be in the future")
    elif request.scheduled_at is not None:
        fault("scheduledAt", "is only allowed when scheduleType is scheduled")
    if errors:
        raise InvalidPayload(errors)


def estimate_duration(request: RoomGenerationRequest) -> dt.timedelta:
    batches = math.ceil(days_in(request.start_date, request.end_date) / request.batch_size)
    return dt.timedelta(seconds=math.ceil(1 + batches * ESTIMATED_SECONDS_PER_BATCH))


def request_generation(
    runtime: Runtime,
    request: RoomGenerationRequest,
    *,
    tenant_id: str,
    user_id: str | None = None,
    remaining_seconds: float | None = None,
) -> GenerationOutcome:
    """Validate, then run now (up to a year), queue (longer) or schedule the generation."""
    now = runtime.clock()
    check_generation_request(request, now=now)
    with runtime.sessions() as session:
        if find_category(session, tenant_id=tenant_id, category_id=request.room_category_id) is None:
            raise CategoryNotFound(request.room_category_id)
    payload = GenerateRoomsPayload.model_validate(request.model_dump(include=set(GenerateRoomsPayload.model_fields)))
    data = payload.model_dump(mode="json", by_alias=True)
    submit = functools.partial(
        enqueue, runtime, queue=QUEUE, name=JOB_NAME, data=data, tenant_id=tenant_id, user_id=user_id
    )

    if request.schedule_type is ScheduleType.SCHEDULED:
        assert request.scheduled_at is not None  # checked above
        run_at = as_utc(request.scheduled_at)
        job = submit(options=JobOptions(run_at=run_at)).job
        return GenerationOutcome("scheduled", job, run_at + estimate_duration(request))

    if days_in(request.start_date, request.end_date) > INLINE_MAX_DAYS:
        job = submit().job
        return GenerationOutcome("queued", job, now + estimate_duration(request))

    job = submit(message_delay=SAFETY_NET_DELAY_SECONDS).job
    job = run_inline(runtime, job, remaining_seconds=remaining_seconds)
    kind = "completed" if job.state is JobState.COMPLETED else "queued"
    return GenerationOutcome(kind, job, None if kind == "completed" else now + estimate_duration(request))


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


def room_stats(
    runtime: Runtime, category_id: uuid.UUID, *, tenant_id: str, start: dt.date | None, end: dt.date | None
) -> dict[str, int]:
    """Room counts by status for the tenant's category, within [start, end] when given."""
    conditions = [Room.tenant_id == tenant_id, Room.category_id == category_id]
    if start is not None:
        conditions.append(Room.date >= start)
    if end is not None:
        conditions.append(Room.date <= end)
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
    return {"totalRooms": total, "availableRooms": available, "bookedRooms": booked, "blockedRooms": blocked}
