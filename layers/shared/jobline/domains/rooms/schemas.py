"""Request and payload models of room generation (camelCase on the wire, as the Bull API had)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import re
import uuid
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from jobline.core.clock import as_utc, shown_in_utc

MAX_BATCH_SIZE = 1_000
# No one sells rooms for the year 9000; the bound keeps the date arithmetic of a request
# (start + 5 years, run time + estimate) inside Python's calendar, which ends in 9999.
MAX_DATE = dt.date(9000, 12, 31)
# Postgres text refuses NUL, and control characters have no place in a name.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
_PLAIN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The last millisecond of a day, as JavaScript's `toISOString` ends a range (`…T23:59:59.999Z`).
_END_OF_DAY = dt.time(23, 59, 59, 999_000)
CATEGORIES_ROUTE = "GET /api/v1/room-categories"


def _within_calendar(moment: dt.datetime) -> dt.datetime:
    utc = as_utc(shown_in_utc(moment)).astimezone(dt.UTC)
    if utc.date() > MAX_DATE:
        raise ValueError(f"must not be after {MAX_DATE.isoformat()}")
    return moment


def js_iso(moment: dt.datetime) -> str:
    """`moment` in UTC as JavaScript's `toISOString` writes it: `2024-02-01T00:00:00.000Z`."""
    return as_utc(moment).astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def start_of(day: dt.date) -> dt.datetime:
    """The first moment of `day`, in UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def end_of(day: dt.date) -> dt.datetime:
    """The last millisecond of `day`, in UTC."""
    return dt.datetime.combine(day, _END_OF_DAY, tzinfo=dt.UTC)


def _day_or_moment(value: Any) -> dt.date:
    """A plain date (`2024-02-01`) stays a date; anything else must be an ISO date-time, kept as
    one so the job shows it as sent. Numbers are refused: `1` is neither a day nor a time a client means."""
    if isinstance(value, dt.date):  # a datetime is a date too
        moment_or_day = value
    elif isinstance(value, str) and _PLAIN_DATE.match(value):
        try:
            moment_or_day = dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_from_datetime_parsing", "{value} is not a date", {"value": value}) from None
    elif isinstance(value, str):
        try:
            moment_or_day = dt.datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "datetime_from_date_parsing",
                "must be a date (2024-02-01) or an ISO date-time (2024-02-01T00:00:00.000Z)",
            ) from None
    else:
        raise PydanticCustomError(
            "date_type", "must be a date (2024-02-01) or an ISO date-time (2024-02-01T00:00:00.000Z), as a string"
        )
    if isinstance(moment_or_day, dt.datetime):
        try:
            _within_calendar(moment_or_day)
        except ValueError as exc:
            raise PydanticCustomError("date_range", str(exc)) from None
    elif moment_or_day > MAX_DATE:
        raise PydanticCustomError("date_range", f"must not be after {MAX_DATE.isoformat()}")
    return moment_or_day


def _shown(value: dt.date) -> str:
    return js_iso(value) if isinstance(value, dt.datetime) else value.isoformat()


# A day of a room range: a plain date, or a date-time whose UTC day it means (Bull's clients send
# `2024-02-29T23:59:59.999Z` for "up to the end of 29 February"). Shown back as it was given.
DayBound = Annotated[
    dt.date,
    PlainValidator(_day_or_moment),
    PlainSerializer(_shown, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
            "description": "a plain date, or an ISO date-time meaning its UTC day",
            "examples": ["2024-02-01", "2024-02-01T00:00:00.000Z"],
        }
    ),
]
Moment = Annotated[dt.datetime, AfterValidator(_within_calendar)]


def utc_day(bound: dt.date) -> dt.date:
    """The UTC day a bound means: a plain date itself, a date-time the day it falls on in UTC."""
    if isinstance(bound, dt.datetime):
        return as_utc(bound).astimezone(dt.UTC).date()
    return bound


def utc_moment(bound: dt.date) -> dt.datetime:
    """The moment a bound names: a date-time itself (naive read as UTC), a plain date its midnight UTC."""
    if isinstance(bound, dt.datetime):
        return as_utc(bound)
    return start_of(bound)


def _category_uuid(value: Any) -> Any:
    """Room categories have UUID ids; the Bull service numbered them, so say so plainly."""
    if isinstance(value, uuid.UUID | str):
        try:
            return _UUID.validate_python(value)
        except ValidationError:
            pass
    shown = json.dumps(value)[:60] if isinstance(value, str | int | float | bool) or value is None else "this value"
    raise PydanticCustomError(
        "uuid_parsing",
        "room categories are identified by UUID; {shown} is not one: list yours at {route}",
        {"shown": shown, "route": CATEGORIES_ROUTE},
    )


_UUID = TypeAdapter(uuid.UUID)
CategoryId = Annotated[uuid.UUID, BeforeValidator(_category_uuid)]


class ScheduleType(enum.StrEnum):
    IMMEDIATE = "immediate"
    SCHEDULED = "scheduled"


class RoomRange(BaseModel):
    """What a generation covers: `roomCategoryId` and the UTC days from `startDate` to `endDate`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    room_category_id: CategoryId = Field(alias="roomCategoryId")
    start_date: DayBound = Field(alias="startDate")
    end_date: DayBound = Field(alias="endDate", description="inclusive: its whole UTC day is covered")

    @property
    def first_day(self) -> dt.date:
        return utc_day(self.start_date)

    @property
    def last_day(self) -> dt.date:
        return utc_day(self.end_date)


class RoomGenerationRequest(RoomRange):
    """`POST /room-generation`: one room per UTC day of [startDate, endDate] for a category."""

    price_override: decimal.Decimal | None = Field(
        default=None, alias="priceOverride", ge=0, le=decimal.Decimal("9999999999.99"), decimal_places=2
    )
    schedule_type: ScheduleType = Field(default=ScheduleType.IMMEDIATE, alias="scheduleType")
    scheduled_at: Moment | None = Field(default=None, alias="scheduledAt")
    batch_size: int = Field(default=100, alias="batchSize", ge=1, le=MAX_BATCH_SIZE, description="days per batch")


class GenerateRoomsPayload(RoomRange):
    """The room-generation job's data; the tenant comes from the job, never from the payload."""

    price_override: decimal.Decimal | None = Field(default=None, alias="priceOverride", ge=0)
    batch_size: int = Field(default=100, alias="batchSize", ge=1, le=MAX_BATCH_SIZE)


class RoomCategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200, pattern=_PRINTABLE)
    base_price: decimal.Decimal = Field(alias="basePrice", ge=0, le=decimal.Decimal("9999999999.99"), decimal_places=2)
