"""The export jobs' payloads: what to export, in which format, which columns (an allow-list per
type), and a few typed filters, each checked against the type it filters.

Export types and the tenant data they read:

- `rooms`: every generated room (one per category and day), any status.
- `bookings`: the booked rooms: a room whose status is `booked` is one confirmed booking of
  one room for one day, at its price. Its `status` is shown, and filtered, as `confirmed`.
- `leads`: the waitlist entries: people who asked for a slot, with how to reach them. Filter
  `status` by an entry status, or `active` for the live ones (waiting or offered).
- `users`: the tenant's people, one row each with a `role`: `mechanic` and `service-provider`
  (bulk-uploaded), and `customer` (each e-mail address or phone number that joined a waitlist).
- `mechanics`, `service-providers`, `policies`: the bulk-uploaded rows, as uploaded.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from jobline.core.clock import as_utc, shown_in_utc
from jobline.domains.rooms.tables import RoomStatus
from jobline.domains.waitlist.tables import EntryStatus


class ExportType(enum.StrEnum):
    ROOMS = "rooms"
    BOOKINGS = "bookings"
    LEADS = "leads"
    USERS = "users"
    MECHANICS = "mechanics"
    SERVICE_PROVIDERS = "service-providers"
    POLICIES = "policies"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    EXCEL = "excel"
    PDF = "pdf"


# The columns each type may export, in their default order (all of them when none are asked).
COLUMNS: dict[ExportType, tuple[str, ...]] = {
    ExportType.ROOMS: ("id", "roomCategoryId", "categoryName", "date", "price", "status", "createdAt"),
    ExportType.BOOKINGS: ("id", "roomCategoryId", "categoryName", "date", "price", "status", "createdAt"),
    ExportType.LEADS: ("id", "name", "channel", "contact", "priority", "status", "slotId", "slotName", "createdAt"),
    ExportType.USERS: ("id", "role", "name", "email", "phone", "createdAt"),
    ExportType.MECHANICS: ("id", "firstName", "lastName", "email", "mobileNumber", "createdAt", "updatedAt"),
    ExportType.SERVICE_PROVIDERS: ("id", "name", "email", "createdAt", "updatedAt"),
    ExportType.POLICIES: ("id", "policyNumber", "type", "createdAt", "updatedAt"),
}
_CREATED = frozenset({"createdFrom", "createdTo"})
_ROOM_FILTERS = _CREATED | {"dateFrom", "dateTo", "status", "roomCategoryId"}
# The filters each type understands; any other is refused rather than silently ignored.
FILTERS: dict[ExportType, frozenset[str]] = {
    ExportType.ROOMS: _ROOM_FILTERS,
    ExportType.BOOKINGS: _ROOM_FILTERS,
    ExportType.LEADS: _CREATED | {"status", "slotId"},
    ExportType.USERS: _CREATED | {"role"},
    ExportType.MECHANICS: _CREATED,
    ExportType.SERVICE_PROVIDERS: _CREATED,
    ExportType.POLICIES: _CREATED | {"type"},
}
# `status` as a caller writes it → the stored statuses it selects.
STATUSES: dict[ExportType, dict[str, tuple[str, ...]]] = {
    ExportType.ROOMS: {s.value: (s.value,) for s in RoomStatus},
    # Every booking is a booked room; `booked` is the room's own word for it.
    ExportType.BOOKINGS: {"confirmed": (RoomStatus.BOOKED.value,), "booked": (RoomStatus.BOOKED.value,)},
    ExportType.LEADS: {
        "active": (EntryStatus.WAITING.value, EntryStatus.OFFERED.value),
        **{s.value: (s.value,) for s in EntryStatus},
    },
}


class Role(enum.StrEnum):
    MECHANIC = "mechanic"
    SERVICE_PROVIDER = "service-provider"
    CUSTOMER = "customer"


# Postgres text refuses NUL, so a filter holding one could only fail the job later.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


def field_error(loc: tuple[str, ...], message: str, value: Any) -> ValidationError:
    """A validation error located at `loc` (a rule that spans fields would otherwise name their parent)."""
    error = InitErrorDetails(type=PydanticCustomError("invalid_filter", message), loc=loc, input=value)
    return ValidationError.from_exception_data("ExportPayload", [error])


class ExportFilters(BaseModel):
    """Row filters; each applies to the types FILTERS lists it for. Ranges are inclusive."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    created_from: dt.datetime | None = Field(default=None, alias="createdFrom")
    created_to: dt.datetime | None = Field(default=None, alias="createdTo")
    date_from: dt.date | None = Field(default=None, alias="dateFrom", description="rooms, bookings: first day")
    date_to: dt.date | None = Field(default=None, alias="dateTo", description="rooms, bookings: last day")
    status: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        pattern=_PRINTABLE,
        description="rooms: available|booked|blocked; bookings: confirmed; leads: active or an entry status",
    )
    role: Role | None = Field(default=None, description="users: mechanic, service-provider or customer")
    room_category_id: uuid.UUID | None = Field(default=None, alias="roomCategoryId", description="rooms, bookings")
    slot_id: uuid.UUID | None = Field(default=None, alias="slotId", description="leads: one waitlist slot")
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

    def statuses(self, export_type: ExportType) -> tuple[str, ...] | None:
        """The stored statuses `status` selects for `export_type` (None: no status filter)."""
        return None if self.status is None else STATUSES[export_type][self.status]


def check_filters(export_type: ExportType, filters: ExportFilters) -> None:
    """A ValidationError naming `filters.<name>` for a filter this type has no such field for, or a
    status it has no such value of: a filter is never silently ignored."""
    unknown = sorted(filters.given() - FILTERS[export_type])
    if unknown:
        allowed = ", ".join(sorted(FILTERS[export_type]))
        raise field_error(
            ("filters", unknown[0]),
            f"{', '.join(unknown)} cannot filter {export_type} exports (allowed: {allowed})",
            unknown,
        )
    if filters.status is not None and filters.status not in STATUSES[export_type]:
        allowed = ", ".join(STATUSES[export_type])
        raise field_error(("filters", "status"), f"{export_type} have no status {filters.status!r} ({allowed})", None)


def check_columns(export_type: ExportType, columns: list[str] | None) -> None:
    """A ValidationError naming `columns` for a column this type does not export, or a repeated one."""
    if columns is None:
        return
    unknown = [c for c in columns if c not in COLUMNS[export_type]]
    if unknown:
        allowed = ", ".join(COLUMNS[export_type])
        message = f"unknown {export_type} columns {', '.join(unknown)} (allowed: {allowed})"
        raise field_error(("columns",), message, columns)
    if len(set(columns)) != len(columns):
        raise field_error(("columns",), "columns must not repeat", columns)


Columns = list[str]


class ExportPayload(BaseModel):
    """The `data-export` job's data (`POST /jobs/data-export`), as seed 001's `DataExportJobData`.

    `subAccountId` may be given but must be the caller's own tenant (the API checks it): the
    tenant always comes from the token. `userId` and `metadata` are the caller's, kept with the
    job and echoed in its result.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    export_type: ExportType = Field(alias="exportType")
    format: ExportFormat = ExportFormat.CSV
    filters: ExportFilters = Field(default_factory=ExportFilters)
    columns: Columns | None = Field(default=None, min_length=1, max_length=32)
    sub_account_id: str | None = Field(default=None, alias="subAccountId", min_length=1, max_length=128)
    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=128, pattern=_PRINTABLE)
    metadata: dict[str, Any] | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _filters_and_columns_fit_type(self) -> Self:
        check_filters(self.export_type, self.filters)
        check_columns(self.export_type, self.columns)
        return self

    def selected_columns(self) -> tuple[str, ...]:
        """The columns to write, in order."""
        return tuple(self.columns) if self.columns else COLUMNS[self.export_type]


class _NamedExport(BaseModel):
    """Seed 002's `addExportJob('<type>-csv', {filters})`: the type and format are in the job's name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    export_type: ClassVar[ExportType]  # each subclass's; not a field, so no caller can change it
    filters: ExportFilters = Field(default_factory=ExportFilters)
    columns: Columns | None = Field(default=None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _filters_and_columns_fit_type(self) -> Self:
        check_filters(self.export_type, self.filters)
        check_columns(self.export_type, self.columns)
        return self

    def as_export(self) -> ExportPayload:
        """The same export as a `data-export` payload, in CSV."""
        return ExportPayload(
            export_type=self.export_type, format=ExportFormat.CSV, filters=self.filters, columns=self.columns
        )


class BookingsCsv(_NamedExport):
    """`bookings-csv`: the booked rooms, as CSV."""

    export_type = ExportType.BOOKINGS


class UsersCsv(_NamedExport):
    """`users-csv`: the tenant's people, as CSV."""

    export_type = ExportType.USERS


# A revenue report spans at most this many years: a period longer is almost surely a typo.
MAX_REVENUE_YEARS = 20


class RevenuePdf(BaseModel):
    """`revenue-pdf`: the booked rooms' revenue on the days from `startDate` to `endDate`, both
    included (UTC days: JavaScript's `new Date('2024-12-31')` is that day's midnight)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start_date: dt.datetime = Field(alias="startDate", description="ISO 8601, e.g. 2024-01-01T00:00:00.000Z")
    end_date: dt.datetime = Field(alias="endDate", description="ISO 8601, e.g. 2024-12-31T00:00:00.000Z")

    _in_utc_range = field_validator("start_date", "end_date")(shown_in_utc)

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.first_day() > self.last_day():
            raise field_error(("endDate",), "endDate must not be before startDate", self.end_date.isoformat())
        if (self.last_day() - self.first_day()).days > MAX_REVENUE_YEARS * 366:
            raise field_error(("endDate",), f"a report spans at most {MAX_REVENUE_YEARS} years", None)
        return self

    def first_day(self) -> dt.date:
        return as_utc(self.start_date).astimezone(dt.UTC).date()

    def last_day(self) -> dt.date:
        return as_utc(self.end_date).astimezone(dt.UTC).date()


def export_summary(payload: ExportPayload) -> dict[str, Any]:
    """What was exported, for the result (filters in their wire form)."""
    summary: dict[str, Any] = {
        "exportType": payload.export_type.value,
        "format": payload.format.value,
        "columns": list(payload.selected_columns()),
        "filters": payload.filters.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    if payload.user_id is not None:
        summary["userId"] = payload.user_id
    if payload.metadata is not None:
        summary["metadata"] = payload.metadata
    return summary
