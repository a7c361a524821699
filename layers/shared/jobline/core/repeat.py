"""A recurring job's schedule: a cron expression (with time zone) or a fixed interval.

BullMQ calls these repeatable jobs (job schedulers in v5). The schedule is kept in the
job store; the per-minute tick turns each due run into one job (`jobline.engine.recurring`).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
import zoneinfo
from typing import Annotated, Any

from croniter import CroniterBadDateError, croniter
from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from jobline.core.clock import shown_in_utc

# The tick runs once a minute, so no schedule may fire more often than that.
MIN_EVERY_SECONDS = 60
MIN_EVERY_MS = MIN_EVERY_SECONDS * 1000
MAX_EVERY_MS = 366 * 24 * 3600 * 1000
# A recurring run's job key is `repeat:<schedule id>:<run time>` (`recurring.run_key`).
RUN_KEY_PREFIX = "repeat:"


def schedule_id_of_run(job_key: str | None) -> str | None:
    """The schedule a job was a run of (BullMQ's `repeatJobKey`), from its key; None for other jobs."""
    if job_key is None or not job_key.startswith(RUN_KEY_PREFIX):
        return None
    schedule_id, _, _ = job_key.removeprefix(RUN_KEY_PREFIX).partition(":")
    return schedule_id or None


def valid_cron(value: str) -> str:
    """`value` if it is a five-field cron expression that matches some date; a ValueError (for pydantic) otherwise."""
    # Five fields only: minutes are the finest grain the tick can honour.
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError("must be a five-field cron expression, e.g. '0 0 * * *'")
    try:
        # croniter takes `0 0 30 2 *` (30 February) as valid but can never find its next run.
        croniter(value).get_next(dt.datetime)
    except CroniterBadDateError:
        raise ValueError("never matches a date") from None
    return value


def valid_timezone(value: str) -> str:
    """`value` if it names a known IANA time zone; a ValueError (for pydantic) otherwise."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def every_seconds_of(every_ms: int) -> int:
    """A BullMQ `every` (milliseconds) as the whole seconds a schedule keeps, rounded up."""
    return math.ceil(every_ms / 1000)


class Repeat(BaseModel):
    """BullMQ's `repeat` job option: `{"pattern": "0 0 * * *", "tz": ...}` or `{"every": 60000}` (milliseconds),
    with an optional `limit`, `startDate`, `endDate`, and `immediately` (an `every` job's first run now)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # `cron` is the name BullMQ used before v4; `pattern` the one it uses now.
    pattern: Annotated[str, AfterValidator(valid_cron)] | None = Field(
        default=None, max_length=120, validation_alias=AliasChoices("pattern", "cron"), examples=["0 0 * * *"]
    )
    every: int | None = Field(default=None, ge=MIN_EVERY_MS, le=MAX_EVERY_MS, description="milliseconds")
    tz: Annotated[str, AfterValidator(valid_timezone)] | None = Field(default=None, max_length=64)
    limit: int | None = Field(default=None, ge=1, le=1_000_000, description="stop after this many runs")
    start_date: Annotated[dt.datetime, AfterValidator(shown_in_utc)] | None = Field(default=None, alias="startDate")
    end_date: Annotated[dt.datetime, AfterValidator(shown_in_utc)] | None = Field(default=None, alias="endDate")
    immediately: bool = False

    @model_validator(mode="after")
    def _one_rule(self) -> Repeat:
        if (self.pattern is None) == (self.every is None):
            raise ValueError("give exactly one of pattern and every")
        if self.immediately and self.every is None:
            raise ValueError("immediately goes with every")
        return self

    def key(self, *, name: str, job_id: str | None) -> str:
        """BullMQ's repeat key: the same job name, jobId, end, time zone and rule name one schedule."""
        end = self.end_date.isoformat() if self.end_date else ""
        return f"{name}:{job_id or ''}:{end}:{self.tz or ''}:{self.pattern or self.every}"


class Schedule(BaseModel):
    """Runs job `name` on `queue` for `tenant_id` with `data`, on `cron` (in `timezone`) or `every_seconds`."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    queue: str
    name: str
    tenant_id: str
    # Who added it, if a user did (a `repeat` add): its runs are theirs, so they can read them.
    user_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    cron: str | None = None
    every_seconds: int | None = Field(default=None, ge=MIN_EVERY_SECONDS)
    timezone: str = "UTC"
    limit: int | None = Field(default=None, ge=1, description="stop after this many runs")
    end_at: dt.datetime | None = None
    runs: int = 0
    next_run_at: dt.datetime | None = None
    last_run_at: dt.datetime | None = None
    created_at: dt.datetime
    version: int = 0

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        return None if value is None else valid_cron(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return valid_timezone(value)

    @model_validator(mode="after")
    def _one_rule(self) -> Schedule:
        if (self.cron is None) == (self.every_seconds is None):
            raise ValueError("give exactly one of cron and every")
        return self

    @property
    def _cron(self) -> str:
        if self.cron is None:  # the model validator guarantees cron when every_seconds is absent
            raise ValueError("schedule has no cron expression")
        return self.cron

    def latest_at_or_before(self, moment: dt.datetime) -> dt.datetime:
        """The last run time at or before `moment` (ignoring limit and end), for catching up after a gap."""
        if self.every_seconds is not None:
            slot = math.floor(moment.timestamp() / self.every_seconds) * self.every_seconds
            return dt.datetime.fromtimestamp(slot, dt.UTC)
        local = (moment + dt.timedelta(seconds=1)).astimezone(zoneinfo.ZoneInfo(self.timezone))
        return croniter(self._cron, local).get_prev(dt.datetime).astimezone(dt.UTC)

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first run strictly after `moment`, or None once the schedule has ended."""
        if self.limit is not None and self.runs >= self.limit:
            return None
        if self.every_seconds is not None:
            # Aligned to the epoch, as BullMQ's `every`: runs fall on multiples of the interval.
            slot = (math.floor(moment.timestamp() / self.every_seconds) + 1) * self.every_seconds
            upcoming = dt.datetime.fromtimestamp(slot, dt.UTC)
        else:
            local = moment.astimezone(zoneinfo.ZoneInfo(self.timezone))
            upcoming = croniter(self._cron, local).get_next(dt.datetime).astimezone(dt.UTC)
        if self.end_at is not None and upcoming > self.end_at:
            return None
        return upcoming
