"""The built-in `generateReport(type, filters)` task: a report of the task's own tenant.

- `queues` (the default): job counts per state of each queue (`filters.queues`, all by default).
- `daily` (`{date}`), `weekly` (`{year, week}`, ISO weeks), `monthly` (`{year, month}`), `yearly`
  (`{year}`): the period's rooms per category and status with the booked revenue and occupancy,
  and the waitlist entries that joined and the notifications written in it. Without filters,
  the period that holds today.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import AfterValidator, Field, model_validator

from jobline.core.context import JobContext
from jobline.core.errors import UnknownQueue
from jobline.core.queues import QUEUES, get_queue
from jobline.domains.notifications.schemas import field_error
from jobline.domains.rooms.tables import Room, RoomCategory, RoomStatus
from jobline.domains.tasks.registry import TaskParams, task
from jobline.domains.waitlist.tables import Entry, EntryStatus, Notification, NotificationStatus
from jobline.engine import operations

ReportType = Literal["queues", "daily", "weekly", "monthly", "yearly"]
# The filters each type reads; any other is refused rather than silently ignored.
FILTERS: dict[str, frozenset[str]] = {
    "queues": frozenset({"queues"}),
    "daily": frozenset({"date"}),
    "weekly": frozenset({"year", "week"}),
    "monthly": frozenset({"year", "month"}),
    "yearly": frozenset({"year"}),
}


def _known_queue(name: str) -> str:
    try:
        return get_queue(name).name
    except UnknownQueue as exc:
        raise ValueError(str(exc)) from None


KnownQueue = Annotated[str, Field(max_length=64), AfterValidator(_known_queue)]


class ReportFilters(TaskParams):
    """What the report covers: the period's fields for its type, or the queues."""

    year: int | None = Field(default=None, ge=2000, le=2100)
    month: int | None = Field(default=None, ge=1, le=12)
    week: int | None = Field(default=None, ge=1, le=53)
    date: dt.date | None = None
    queues: list[KnownQueue] | None = Field(default=None, min_length=1, max_length=len(QUEUES))

    def given(self) -> set[str]:
        return {name for name in self.model_fields_set if getattr(self, name) is not None}


class GenerateReportParams(TaskParams):
    """Seed 001's `(type, filters)`, e.g. `('monthly', {year: 2024, month: 12})`; `queues` as before."""

    type: ReportType = "queues"
    filters: ReportFilters = Field(default_factory=ReportFilters)
    queues: list[KnownQueue] | None = Field(
        default=None, min_length=1, max_length=len(QUEUES), description="the earlier name of filters.queues"
    )

    @model_validator(mode="after")
    def _filters_fit_type(self) -> GenerateReportParams:
        given = self.filters.given()
        unknown = sorted(given - FILTERS[self.type])
        if unknown:
            allowed = ", ".join(sorted(FILTERS[self.type]))
            raise field_error(
                "GenerateReportParams",
                "filters",
                f"a {self.type} report takes {allowed}, not {', '.join(unknown)}",
                None,
            )
        if given and given != FILTERS[self.type] and self.type != "queues":
            missing = ", ".join(sorted(FILTERS[self.type] - given))
            raise field_error("GenerateReportParams", "filters", f"a {self.type} report also needs {missing}", None)
        if self.type == "weekly" and self.filters.year is not None and self.filters.week is not None:
            try:
                dt.date.fromisocalendar(self.filters.year, self.filters.week, 1)
            except ValueError:
                raise field_error(
                    "GenerateReportParams", "filters", f"{self.filters.year} has no ISO week {self.filters.week}", None
                ) from None
        return self

    def period(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day the report covers."""
        f = self.filters
        if self.type == "daily":
            day = f.date or today
            return day, day
        if self.type == "weekly":
            year, week = (f.year, f.week) if f.year and f.week else today.isocalendar()[:2]
            monday = dt.date.fromisocalendar(year, week, 1)
            return monday, monday + dt.timedelta(days=6)
        if self.type == "monthly":
            year, month = (f.year, f.month) if f.year and f.month else (today.year, today.month)
            return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        year = f.year or today.year
        return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _room_figures(by_status: dict[str, int], revenue: float) -> dict[str, Any]:
    total = sum(by_status.values())
    booked = by_status.get(RoomStatus.BOOKED.value, 0)
    return {
        "total": total,
        **{status.value: by_status.get(status.value, 0) for status in RoomStatus},
        "bookedRevenue": round(revenue, 2),
        "occupancyRate": _rate(booked, total),
    }


def period_report(ctx: JobContext, first: dt.date, last: dt.date) -> dict[str, Any]:
    """Rooms per category and status in [first, last], waitlist joins and notifications in it."""
    tenant = ctx.tenant_id
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    booked_price = sa.case((Room.status == RoomStatus.BOOKED, Room.price), else_=0)
    rooms = (
        sa.select(RoomCategory.id, RoomCategory.name, Room.status, sa.func.count(), sa.func.sum(booked_price))
        .join(RoomCategory, RoomCategory.id == Room.category_id)
        .where(Room.tenant_id == tenant, Room.date.between(first, last))
        .group_by(RoomCategory.id, RoomCategory.name, Room.status)
        .order_by(RoomCategory.name)
    )
    entries = (
        sa.select(Entry.status, sa.func.count())
        .where(Entry.tenant_id == tenant, Entry.created_at >= start, Entry.created_at < end)
        .group_by(Entry.status)
    )
    notifications = (
        sa.select(Notification.status, sa.func.count())
        .where(Notification.tenant_id == tenant, Notification.created_at >= start, Notification.created_at < end)
        .group_by(Notification.status)
    )
    with ctx.runtime.sessions() as session:
        room_rows = session.execute(rooms).all()
        entry_counts = {status.value: count for status, count in session.execute(entries).all()}
        notification_counts = {status.value: count for status, count in session.execute(notifications).all()}
    categories: dict[Any, dict[str, Any]] = {}
    for category_id, name, status, count, revenue in room_rows:
        row = categories.setdefault(category_id, {"name": name, "statuses": {}, "revenue": 0.0})
        row["statuses"][status.value] = count
        row["revenue"] += float(revenue or 0)
    overall: dict[str, int] = {}
    for row in categories.values():
        for status, count in row["statuses"].items():
            overall[status] = overall.get(status, 0) + count
    return {
        "period": {"start": first.isoformat(), "end": last.isoformat(), "days": (last - first).days + 1},
        "rooms": _room_figures(overall, sum(row["revenue"] for row in categories.values())),
        "roomCategories": [
            {"roomCategoryId": str(category_id), "name": row["name"], **_room_figures(row["statuses"], row["revenue"])}
            for category_id, row in categories.items()
        ],
        "waitlist": {
            "entries": {
                **{s.value: entry_counts.get(s.value, 0) for s in EntryStatus},
                "total": sum(entry_counts.values()),
            },
            "notifications": {s.value: notification_counts.get(s.value, 0) for s in NotificationStatus},
        },
    }


def queues_report(ctx: JobContext, names: list[str]) -> dict[str, Any]:
    """Job counts per state of each queue, for this tenant only, with totals."""
    rows = []
    for done, name in enumerate(names, start=1):
        stats = operations.queue_stats(ctx.runtime, name, tenant_id=ctx.tenant_id, with_sqs=False)
        finished = stats.completed + stats.failed
        rows.append(
            {
                "queue": name,
                "waiting": stats.waiting,
                "active": stats.active,
                "delayed": stats.delayed,
                "completed": stats.completed,
                "failed": stats.failed,
                "total": stats.total,
                "paused": stats.paused,
                "failureRate": _rate(stats.failed, finished),
            }
        )
        ctx.progress(100 * done / len(names))
    states = ("waiting", "active", "delayed", "completed", "failed", "total")
    return {"queues": rows, "totals": {state: sum(row[state] for row in rows) for state in states}}


@task("generateReport", params=GenerateReportParams, positional=("type", "filters"))
def generate_report(params: GenerateReportParams, ctx: JobContext) -> dict[str, Any]:
    """The report `type` asks for, of this tenant only."""
    head = {"type": params.type, "tenantId": ctx.tenant_id, "generatedAt": ctx.runtime.clock().isoformat()}
    if params.type == "queues":
        names = list(dict.fromkeys(params.filters.queues or params.queues or QUEUES))
        return {**head, **queues_report(ctx, names)}
    first, last = params.period(ctx.runtime.clock().date())
    return {**head, **period_report(ctx, first, last)}
