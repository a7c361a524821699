"""The export job's payload: what to export, which columns (an allow-list per type), and a few typed filters."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from jobline.clock import as_utc, shown_in_utc
from jobline.rooms.models import RoomStatus


class ExportType(enum.StrEnum):
    ROOMS = "rooms"
    MECHANICS = "mechanics"
    SERVICE_PROVIDERS = "service-providers"
    POLICIES = "policies"


# The columns each type may export, in their default order (all of them when none are asked).
COLUMNS: dict[ExportType, tuple[str, ...]] = {
    ExportType.ROOMS: ("id", "roomCategoryId", "categoryName", "date", "price", "status", "createdAt"),
    ExportType.MECHANICS: ("id", "firstName", "lastName", "email", "mobileNumber", "createdAt", "updatedAt"),
    ExportType.SERVICE_PROVIDERS: ("id", "name", "email", "createdAt", "updatedAt"),
    ExportType.POLICIES: ("id", "policyNumber", "type", "createdAt", "updatedAt"),
}
_CREATED = frozenset({"createdFrom", "createdTo"})
# The filters each type understands; any other is refused rather than silently ignored.
FILTERS: dict[ExportType, frozenset[str]] = {
    ExportType.ROOMS: _CREATED | {"dateFrom", "dateTo", "status", "roomCategoryId"},
    ExportType.MECHANICS: _CREATED,
    ExportType.SERVICE_PROVIDERS: _CREATED,
    ExportType.POLICIES: _CREATED | {"type"},
}


# Postgres text refuses NUL, so a filter holding one could only fail the job later.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class ExportFilters(BaseModel):
    """Row filters; each applies to the types FILTERS lists it for. Ranges are inclusive."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    created_from: dt.datetime | None = Field(default=None, alias="createdFrom")
    created_to: dt.datetime | None = Field(default=None, alias="createdTo")
    date_from: dt.date | None = Field(default=None, alias="dateFrom", description="rooms: first room date")
    date_to: dt.date | None = Field(default=None, alias="dateTo", description="rooms: last room date")
    status: RoomStatus | None = Field(default=None, description="rooms")
    room_category_id: uuid.UUID | None = Field(default=None, alias="roomCategoryId", description="rooms")
    type: str | None = Field(
        default=None, min_length=1, max_length=50, pattern=_PRINTABLE, description="policies: policy type"
    )

    _in_utc_range = field_validator("created_from", "created_to")(shown_in_utc)

    @model_validator(mode="after")
    def _ranges_in_order(self) -> ExportFilters:
        if self.created_from and self.created_to and as_utc(self.created_from) > as_utc(self.created_to):
            raise ValueError("createdFrom must not be after createdTo")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("dateFrom must not be after dateTo")
        return self

    def given(self) -> set[str]:
        """The wire names of the filters that are set."""
        fields = type(self).model_fields
        return {fields[name].alias or name for name in self.model_fields_set if getattr(self, name) is not None}


class ExportPayload(BaseModel):
    """The export job's data: `POST /jobs/data-export` takes these fields; the tenant comes from the caller."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # Declared first: the validators below read it from the fields validated before them.
    export_type: ExportType = Field(alias="exportType")
    format: Literal["csv"] = "csv"
    filters: ExportFilters = Field(default_factory=ExportFilters)
    columns: list[str] | None = Field(default=None, min_length=1, max_length=32)

    @field_validator("filters")
    @classmethod
    def _filters_fit_type(cls, filters: ExportFilters, info: ValidationInfo) -> ExportFilters:
        export_type = info.data.get("export_type")
        if export_type is not None:
            unknown = sorted(filters.given() - FILTERS[export_type])
            if unknown:
                allowed = ", ".join(sorted(FILTERS[export_type]))
                raise ValueError(f"{', '.join(unknown)} cannot filter {export_type} exports (allowed: {allowed})")
        return filters

    @field_validator("columns")
    @classmethod
    def _columns_allowed(cls, columns: list[str] | None, info: ValidationInfo) -> list[str] | None:
        export_type = info.data.get("export_type")
        if columns is None or export_type is None:
            return columns
        unknown = [c for c in columns if c not in COLUMNS[export_type]]
        if unknown:
            allowed = ", ".join(COLUMNS[export_type])
            raise ValueError(f"unknown {export_type} columns {', '.join(unknown)} (allowed: {allowed})")
        if len(set(columns)) != len(columns):
            raise ValueError("columns must not repeat")
        return columns

    def selected_columns(self) -> tuple[str, ...]:
        """The columns to write, in order."""
        return tuple(self.columns) if self.columns else COLUMNS[self.export_type]


def export_summary(payload: ExportPayload) -> dict[str, Any]:
    """What was exported, for the result (filters in their wire form)."""
    return {
        "exportType": payload.export_type.value,
        "format": payload.format,
        "columns": list(payload.selected_columns()),
        "filters": payload.filters.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
