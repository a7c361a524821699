"""Request and payload models of room generation (camelCase on the wire, as the Bull API had)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from jobline.clock import as_utc, shown_in_utc

MAX_BATCH_SIZE = 1_000
# No one sells rooms for the year 9000; the bound keeps the date arithmetic of a request
# (start + 5 years, run time + estimate) inside Python's calendar, which ends in 9999.
MAX_DATE = dt.date(9000, 12, 31)
# Postgres text refuses NUL, and control characters have no place in a name.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


def _within_calendar(moment: dt.datetime) -> dt.datetime:
    utc = as_utc(shown_in_utc(moment)).astimezone(dt.UTC)
    if utc.date() > MAX_DATE:
        raise ValueError(f"must not be after {MAX_DATE.isoformat()}")
    return moment


RoomDate = Annotated[dt.date, Field(le=MAX_DATE)]
Moment = Annotated[dt.datetime, AfterValidator(_within_calendar)]


class ScheduleType(enum.StrEnum):
    IMMEDIATE = "immediate"
    SCHEDULED = "scheduled"


class RoomGenerationRequest(BaseModel):
    """`POST /room-generation`: one room per day of [startDate, endDate] for a category."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    room_category_id: uuid.UUID = Field(alias="roomCategoryId")
    start_date: RoomDate = Field(alias="startDate")
    end_date: RoomDate = Field(alias="endDate", description="inclusive")
    price_override: decimal.Decimal | None = Field(
        default=None, alias="priceOverride", ge=0, le=decimal.Decimal("9999999999.99"), decimal_places=2
    )
    schedule_type: ScheduleType = Field(default=ScheduleType.IMMEDIATE, alias="scheduleType")
    scheduled_at: Moment | None = Field(default=None, alias="scheduledAt")
    batch_size: int = Field(default=100, alias="batchSize", ge=1, le=MAX_BATCH_SIZE, description="days per batch")


class GenerateRoomsPayload(BaseModel):
    """The room-generation job's data; the tenant comes from the job, never from the payload."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    room_category_id: uuid.UUID = Field(alias="roomCategoryId")
    start_date: dt.date = Field(alias="startDate")
    end_date: dt.date = Field(alias="endDate")
    price_override: decimal.Decimal | None = Field(default=None, alias="priceOverride", ge=0)
    batch_size: int = Field(default=100, alias="batchSize", ge=1, le=MAX_BATCH_SIZE)


class RoomCategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200, pattern=_PRINTABLE)
    base_price: decimal.Decimal = Field(alias="basePrice", ge=0, le=decimal.Decimal("9999999999.99"), decimal_places=2)
