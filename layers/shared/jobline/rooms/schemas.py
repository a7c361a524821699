"""Request and payload models of room generation (camelCase on the wire, as the Bull API had)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH_SIZE = 1_000


class ScheduleType(enum.StrEnum):
    IMMEDIATE = "immediate"
    SCHEDULED = "scheduled"


class RoomGenerationRequest(BaseModel):
    """`POST /room-generation`: one room per day of [startDate, endDate] for a category."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    room_category_id: uuid.UUID = Field(alias="roomCategoryId")
    start_date: dt.date = Field(alias="startDate")
    end_date: dt.date = Field(alias="endDate", description="inclusive")
    price_override: decimal.Decimal | None = Field(
        default=None, alias="priceOverride", ge=0, le=decimal.Decimal("9999999999.99"), decimal_places=2
    )
    schedule_type: ScheduleType = Field(default=ScheduleType.IMMEDIATE, alias="scheduleType")
    scheduled_at: dt.datetime | None = Field(default=None, alias="scheduledAt")
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

    name: str = Field(min_length=1, max_length=200)
    base_price: decimal.Decimal = Field(alias="basePrice", ge=0, le=decimal.Decimal("9999999999.99"), decimal_places=2)
