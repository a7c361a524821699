"""Recurring jobs: create, list and delete schedules, BullMQ's repeat on add, and the job of
one run; `tick.recurring` starts the runs that fall due.

Each run's job id is derived from the schedule and the run's time (`run_key`, an idempotency
key), so a second enqueue of the same run, by an add or an overlapping tick, returns the first job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from pydantic import ValidationError

from jobline.core.clock import as_utc
from jobline.core.errors import InvalidPayload, NotFound, ScheduleConflict
from jobline.core.job import job_id_for_key
from jobline.core.queues import get_queue
from jobline.core.registry import get_job_type
from jobline.core.repeat import RUN_KEY_PREFIX, Schedule, every_seconds_of
from jobline.engine.enqueue import MAX_DELAY, Enqueued, JobOptions, enqueue
from jobline.runtime import Runtime

# Options a schedule may carry; the job id, delay and run time are the schedule's to set.
SCHEDULE_OPTIONS = frozenset({"attempts", "retries", "backoff", "priority", "timeout", "callback_url"})


CALLER_NAMES = {"every_seconds": "every", "timezone": "tz", "end_at": "endDate"}


class ScheduleNotFound(NotFound):
    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule {schedule_id!r} not found")


class TooManySchedules(InvalidPayload):
    """The tenant keeps as many schedules as JOBLINE_MAX_SCHEDULES_PER_TENANT allows: answered with 422."""

    def __init__(self, limit: int, *, loc: tuple[str, ...] = ()) -> None:
        message = (
            f"this tenant has {limit} recurring schedules, the most allowed (JOBLINE_MAX_SCHEDULES_PER_TENANT);"
            " delete one first"
        )
        super().__init__([{"loc": loc, "msg": message, "type": "value_error"}])
        self.limit = limit


def _check_schedule_quota(runtime: Runtime, tenant_id: str) -> None:
    """Refuse a new schedule past the tenant's cap: every stored schedule counts, ended ones too,
    since the tick reads them all each minute. Two creations racing may both pass: the cap
    bounds the work, it is not an exact count."""
    limit = runtime.settings.jobline_max_schedules_per_tenant
    if sum(1 for s in runtime.store.list_schedules() if s.tenant_id == tenant_id) >= limit:
        raise TooManySchedules(limit)


def _template(
    queue: str, name: str, data: dict[str, Any], options: JobOptions | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload and job options every run gets, validated; options the schedule sets are refused."""
    get_queue(queue)
    payload = get_job_type(queue, name).validate(data)
    chosen = options.model_dump(exclude_unset=True, mode="json") if options else {}
    refused = sorted(set(chosen) - SCHEDULE_OPTIONS)
    if refused:
        raise InvalidPayload(
            [{"loc": ("options", field), "msg": "is set by the schedule", "type": "value_error"} for field in refused]
        )
    return payload, chosen


def create_schedule(
    runtime: Runtime,
    *,
    queue: str,
    name: str,
    tenant_id: str,
    data: dict[str, Any],
    cron: str | None = None,
    every_seconds: int | None = None,
    timezone: str = "UTC",
    limit: int | None = None,
    start_at: dt.datetime | None = None,
    end_at: dt.datetime | None = None,
    options: JobOptions | None = None,
    schedule_id: str | None = None,
    user_id: str | None = None,
) -> Schedule:
    """Validate the job (type and payload) and the rule, then store the schedule with its first run time.

    A given `schedule_id` that is taken raises ScheduleConflict (the store writes new schedules only once).
    A tenant at its cap of schedules (JOBLINE_MAX_SCHEDULES_PER_TENANT) gets TooManySchedules.
    """
    payload, chosen = _template(queue, name, data, options)
    _check_schedule_quota(runtime, tenant_id)
    now = runtime.clock()
    try:
        schedule = Schedule(
            **({"id": schedule_id} if schedule_id else {}),
            queue=queue,
            name=name,
            tenant_id=tenant_id,
            user_id=user_id,
            data=payload,
            options=chosen,
            cron=cron,
            every_seconds=every_seconds,
            timezone=timezone,
            limit=limit,
            end_at=end_at,
            created_at=now,
        )
    except ValidationError as exc:
        # Named as BullMQ's repeat options are (every, tz, endDate), which callers send.
        raise InvalidPayload(
            [{**error, "loc": tuple(CALLER_NAMES.get(str(p), p) for p in error["loc"])} for error in exc.errors()]
        ) from exc
    # A start in the future holds the first run back; one exactly on a run time keeps that run.
    after = max(now, start_at - dt.timedelta(seconds=1)) if start_at else now
    schedule = schedule.model_copy(update={"next_run_at": schedule.next_after(after)})
    return runtime.store.save_schedule(schedule)


def add_repeating(
    runtime: Runtime,
    *,
    queue: str,
    name: str,
    data: dict[str, Any],
    tenant_id: str,
    options: JobOptions,
    user_id: str | None = None,
) -> Enqueued:
    """BullMQ's `queue.add(name, data, {repeat})`: register the schedule once per repeat key (name,
    jobId, rule, time zone, end) and answer the job of its next run, delayed to its time.

    Adding the same repeat again finds the same schedule (its data and options become those
    sent, for the runs to come) and the same pending run, as BullMQ does.
    """
    repeat = options.repeat
    if repeat is None:
        raise ValueError("add_repeating needs options.repeat")
    if repeat.start_date is not None and as_utc(repeat.start_date) - runtime.clock() > MAX_DELAY:
        # As far out as a delay may go: a start in 9999 would only ever wait (and overflow the cron search).
        raise InvalidPayload([_repeat_error("startDate", f"must be within {MAX_DELAY.days} days")])
    template = JobOptions.model_validate(options.model_dump(exclude_unset=True, exclude={"repeat", "job_id"}))
    schedule_id = job_id_for_key(
        tenant_id=tenant_id, queue=queue, key=f"schedule:{repeat.key(name=name, job_id=options.job_id)}"
    )
    schedule = runtime.store.get_schedule(schedule_id)
    if schedule is None:
        try:
            schedule = create_schedule(
                runtime,
                queue=queue,
                name=name,
                tenant_id=tenant_id,
                data=data,
                cron=repeat.pattern,
                every_seconds=None if repeat.every is None else every_seconds_of(repeat.every),
                timezone=repeat.tz or "UTC",
                limit=repeat.limit,
                start_at=repeat.start_date,
                end_at=repeat.end_date,
                options=template,
                schedule_id=schedule_id,
                user_id=user_id,
            )
        except TooManySchedules as exc:
            # Only a new repeat counts: the same one added again found its schedule above.
            raise TooManySchedules(exc.limit, loc=("options", "repeat")) from exc
        except ScheduleConflict:
            schedule = runtime.store.get_schedule(schedule_id)  # a concurrent add made it first
        else:
            if schedule.next_run_at is None:
                runtime.store.delete_schedule(schedule.id)  # a schedule that never runs is no schedule
                raise InvalidPayload([_repeat_error("endDate", "comes before the first run")])
            if repeat.immediately:
                return enqueue_run(runtime, schedule, runtime.clock())
    if schedule is None:
        raise ScheduleConflict(schedule_id)  # made and deleted while we looked: the caller may retry
    schedule = _renewed(runtime, schedule, data=data, options=template)
    if schedule.next_run_at is None:
        raise InvalidPayload([_repeat_error("limit", "is reached: this repeat has no run left")])
    return enqueue_run(runtime, schedule, schedule.next_run_at)


def _repeat_error(field: str, message: str) -> dict[str, Any]:
    return {"loc": ("options", "repeat", field), "msg": message, "type": "value_error"}


def _renewed(runtime: Runtime, schedule: Schedule, *, data: dict[str, Any], options: JobOptions) -> Schedule:
    """The schedule with the template of the latest add (payload and job options), written if it changed."""
    payload, chosen = _template(schedule.queue, schedule.name, data, options)
    if (payload, chosen) == (schedule.data, schedule.options):
        return schedule
    try:
        return runtime.store.save_schedule(
            schedule.model_copy(update={"data": payload, "options": chosen}), expected_version=schedule.version
        )
    except ScheduleConflict:
        # A tick moved it on meanwhile: the next add (or none) renews it; this run uses the stored template.
        return runtime.store.get_schedule(schedule.id) or schedule


def run_key(schedule: Schedule, run_at: dt.datetime) -> str:
    """The idempotency key of one run: the same schedule and time always name the same job."""
    return f"{RUN_KEY_PREFIX}{schedule.id}:{int(run_at.timestamp())}"


def enqueue_run(runtime: Runtime, schedule: Schedule, run_at: dt.datetime) -> Enqueued:
    """Enqueue the schedule's run at `run_at` under its run key: the same run is always the same job.

    Both an add (its next run) and the tick (`tick.recurring`, the runs falling due) start runs here.
    """
    now = runtime.clock()
    options = JobOptions.model_validate(
        {**schedule.options, "jobId": run_key(schedule, run_at), "runAt": run_at if run_at > now else None}
    )
    result = enqueue(
        runtime,
        queue=schedule.queue,
        name=schedule.name,
        data=schedule.data,
        tenant_id=schedule.tenant_id,
        user_id=schedule.user_id,
        options=options,
    )
    return dataclasses.replace(result, schedule=schedule)


def list_schedules(runtime: Runtime, *, queue: str | None = None, tenant_id: str | None = None) -> list[Schedule]:
    """The schedules of a queue and/or tenant, soonest first."""
    found = [
        s
        for s in runtime.store.list_schedules()
        if (queue is None or s.queue == queue) and (tenant_id is None or s.tenant_id == tenant_id)
    ]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda s: (s.next_run_at or far, s.id))


def delete_schedule(
    runtime: Runtime, schedule_id: str, *, queue: str | None = None, tenant_id: str | None = None
) -> None:
    """Remove a schedule; jobs it already enqueued stay. Another tenant's reads as not found."""
    schedule = runtime.store.get_schedule(schedule_id)
    if schedule is None or (queue and schedule.queue != queue) or (tenant_id and schedule.tenant_id != tenant_id):
        raise ScheduleNotFound(schedule_id)
    runtime.store.delete_schedule(schedule_id)
