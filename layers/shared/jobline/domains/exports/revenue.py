"""The revenue report (seed 002's `revenue-pdf`): what the tenant's booked rooms earn, by month and
by room category, over a period of days.

Revenue is the sum of the prices of the rooms booked for a day in the period (a room is one
category's room for one day, and its `price` is that day's price). Postgres adds it up; the
report holds at most a row per month and per category, whatever the number of rooms.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
from typing import Any

import sqlalchemy as sa

from jobline.domains.exports.pdf import PdfDocument
from jobline.domains.rooms.tables import Room, RoomCategory, RoomStatus

CENT = decimal.Decimal("0.01")


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of the report: a month (`YYYY-MM`) or a category, its booked rooms and their revenue."""

    label: str
    bookings: int
    revenue: decimal.Decimal


@dataclasses.dataclass(frozen=True)
class RevenueReport:
    first_day: dt.date
    last_day: dt.date
    by_month: list[Line]
    by_category: list[Line]

    @property
    def bookings(self) -> int:
        return sum(line.bookings for line in self.by_month)

    @property
    def revenue(self) -> decimal.Decimal:
        return sum((line.revenue for line in self.by_month), decimal.Decimal(0)).quantize(CENT)


def _booked(tenant_id: str, first_day: dt.date, last_day: dt.date) -> list[sa.ColumnElement[bool]]:
    return [
        Room.tenant_id == tenant_id,
        Room.status == RoomStatus.BOOKED,
        Room.date.between(first_day, last_day),
    ]


def by_month_query(tenant_id: str, first_day: dt.date, last_day: dt.date) -> sa.Select[*tuple[Any, ...]]:
    """Every month of the period (those without bookings too), with its booked rooms and revenue."""
    months = (
        sa.select(
            sa.func.generate_series(
                sa.func.date_trunc("month", sa.cast(first_day, sa.Date)),
                sa.func.date_trunc("month", sa.cast(last_day, sa.Date)),
                sa.text("interval '1 month'"),
            ).label("month")
        )
    ).subquery("months")
    booked = (
        sa.select(
            sa.func.date_trunc("month", Room.date).label("month"),
            sa.func.count().label("bookings"),
            sa.func.sum(Room.price).label("revenue"),
        )
        .where(*_booked(tenant_id, first_day, last_day))
        .group_by(sa.literal_column("1"))
    ).subquery("booked")
    return (
        sa.select(
            sa.func.to_char(months.c.month, "YYYY-MM"),
            sa.func.coalesce(booked.c.bookings, 0),
            sa.func.coalesce(booked.c.revenue, 0),
        )
        .select_from(months.outerjoin(booked, booked.c.month == months.c.month))
        .order_by(months.c.month)
    )


def by_category_query(tenant_id: str, first_day: dt.date, last_day: dt.date) -> sa.Select[*tuple[Any, ...]]:
    """The categories with bookings in the period, highest revenue first."""
    revenue = sa.func.sum(Room.price)
    on = sa.and_(RoomCategory.id == Room.category_id, RoomCategory.tenant_id == tenant_id)
    return (
        sa.select(RoomCategory.name, sa.func.count(), revenue)
        .select_from(sa.join(Room, RoomCategory, on))
        .where(*_booked(tenant_id, first_day, last_day))
        .group_by(RoomCategory.id, RoomCategory.name)
        .order_by(revenue.desc(), RoomCategory.name)
    )


def revenue_report(connection: Any, *, tenant_id: str, first_day: dt.date, last_day: dt.date) -> RevenueReport:
    """The tenant's revenue from `first_day` to `last_day`, both included."""

    def lines(query: sa.Select[*tuple[Any, ...]]) -> list[Line]:
        return [
            Line(str(label), int(count), decimal.Decimal(total)) for label, count, total in connection.execute(query)
        ]

    return RevenueReport(
        first_day=first_day,
        last_day=last_day,
        by_month=lines(by_month_query(tenant_id, first_day, last_day)),
        by_category=lines(by_category_query(tenant_id, first_day, last_day)),
    )


def money(amount: decimal.Decimal) -> str:
    return f"{amount.quantize(CENT):,}"


def write_pdf(document: PdfDocument, report: RevenueReport, *, generated: dt.datetime) -> None:
    """The report as headings, a summary and two tables."""
    document.heading("Revenue report", size=16)
    document.line(f"Period: {report.first_day.isoformat()} to {report.last_day.isoformat()} (UTC days, both included)")
    document.line(f"Generated: {generated.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
    document.line(f"Booked rooms: {report.bookings}    Revenue: {money(report.revenue)}")
    document.heading("By month", size=11)
    document.table(["Month", "Booked rooms", "Revenue"], widths=[2, 1, 1])
    for line in report.by_month:
        document.row([line.label, str(line.bookings), money(line.revenue)])
    document.heading("By room category", size=11)
    document.table(["Room category", "Booked rooms", "Revenue"], widths=[2, 1, 1])
    for line in report.by_category:
        document.row([line.label, str(line.bookings), money(line.revenue)])
    if not report.by_category:
        document.line("No booked rooms in this period.")
    document.close()
