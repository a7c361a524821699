"""Recurring jobs through the admin API: BullMQ's repeatable jobs (cron with time zone, or every N ms)."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AfterValidator, AliasChoices, Field, field_validator

from jobline.api import deps
from jobline.api.envelope import Envelope, ok, responses
from jobline.api.queues import known_queue, public_queue
from jobline.api.schemas import UUID_PATTERN, ApiModel, QueuePath
from jobline.core.clock import shown_in_utc
from jobline.core.errors import InvalidPayload
from jobline.core.registry import get_job_type
from jobline.core.repeat import MAX_EVERY_MS, MIN_EVERY_MS, Schedule, every_seconds_of, valid_cron, valid_timezone
from jobline.engine import recurring
from jobline.engine.enqueue import JobOptions

router = APIGatewayHttpRouter()
TAGS = ["admin", "recurring"]
ScheduleIdPath = Annotated[str, Path(alias="scheduleId", pattern=UUID_PATTERN, description="The schedule id.")]


class ScheduleRequest(ApiModel):
    """A recurring job: `cron` (five fields, in `tz`; BullMQ's `pattern` too) or `every` (milliseconds,
    as BullMQ), not both."""

    model_config = ApiModel.model_config | {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=128, description="The job name on this queue.")
    data: dict[str, Any] = Field(default_factory=dict)
    cron: Annotated[str, AfterValidator(valid_cron)] | None = Field(
        default=None, max_length=120, validation_alias=AliasChoices("cron", "pattern"), examples=["0 0 * * *"]
    )
    every: int | None = Field(default=None, ge=MIN_EVERY_MS, le=MAX_EVERY_MS, description="milliseconds")
    tz: Annotated[str, AfterValidator(valid_timezone)] = Field(default="UTC", max_length=64, examples=["Europe/Paris"])
    limit: int | None = Field(default=None, ge=1, le=1_000_000)
    end_date: dt.datetime | None = None
    options: JobOptions | None = None

    _in_utc_range = field_validator("end_date")(shown_in_utc)


class ScheduleView(ApiModel):
    schedule_id: str
    queue: str
    name: str
    data: dict[str, Any]
    cron: str | None
    pattern: str | None = Field(description="the cron expression, under BullMQ's name")
    every: int | None = Field(description="milliseconds")
    tz: str
    limit: int | None
    runs: int
    next_run_at: dt.datetime | None
    last_run_at: dt.datetime | None
    end_date: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleView:
        return cls(
            schedule_id=schedule.id,
            queue=schedule.queue,
            name=schedule.name,
            data=schedule.data,
            cron=schedule.cron,
            pattern=schedule.cron,
            every=None if schedule.every_seconds is None else schedule.every_seconds * 1000,
            tz=schedule.timezone,
            limit=schedule.limit,
            runs=schedule.runs,
            next_run_at=schedule.next_run_at,
            last_run_at=schedule.last_run_at,
            end_date=schedule.end_at,
            created_at=schedule.created_at,
        )


@router.post(
    "/admin/jobs/<queue>/repeatable",
    summary="Create a recurring job",
    tags=TAGS,
    responses=responses(403, 404, success=(HTTPStatus.CREATED,)),
)
def create(
    queue: QueuePath, body: Annotated[ScheduleRequest, Body()], runtime: deps.RuntimeDep, admin: deps.AdminDep
) -> Response[Envelope[ScheduleView]]:
    """The job type and payload are checked now; the per-minute tick enqueues each run exactly once."""
    # A schedule on an internal queue would let a tenant forge its jobs (a signed callback naming anyone).
    queue = public_queue(queue)
    try:
        get_job_type(queue, body.name).validate(body.data)
    except InvalidPayload as exc:
        # The job type locates its errors in the payload, which this body holds under `data`.
        raise exc.relocated(lambda loc: ("data", *loc)) from exc
    schedule = recurring.create_schedule(
        runtime,
        queue=queue,
        name=body.name,
        tenant_id=admin.tenant_id,
        data=body.data,
        cron=body.cron,
        every_seconds=None if body.every is None else every_seconds_of(body.every),
        timezone=body.tz,
        limit=body.limit,
        end_at=body.end_date,
        options=body.options,
    )
    return ok(ScheduleView.of(schedule), "recurring job created", status=HTTPStatus.CREATED)


@router.get(
    "/admin/jobs/<queue>/repeatable", summary="A queue's recurring jobs", tags=TAGS, responses=responses(403, 404)
)
def list_all(queue: QueuePath, runtime: deps.RuntimeDep, admin: deps.AdminDep) -> Envelope[list[ScheduleView]]:
    """Soonest first; the caller's tenant only, unless an operator."""
    schedules = recurring.list_schedules(runtime, queue=known_queue(queue), tenant_id=admin.scope)
    return Envelope(message=f"{len(schedules)} recurring jobs", data=[ScheduleView.of(s) for s in schedules])


@router.delete(
    "/admin/jobs/<queue>/repeatable/<scheduleId>",
    summary="Delete a recurring job",
    tags=TAGS,
    responses=responses(403, 404),
)
def delete(
    queue: QueuePath, schedule_id: ScheduleIdPath, runtime: deps.RuntimeDep, admin: deps.AdminDep
) -> Envelope[dict[str, str]]:
    """Jobs it already enqueued stay; no new runs are made."""
    recurring.delete_schedule(runtime, schedule_id, queue=known_queue(queue), tenant_id=admin.scope)
    return Envelope(message="recurring job deleted", data={"scheduleId": schedule_id})
