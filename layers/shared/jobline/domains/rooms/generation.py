"""Room generation in SQL: batches of days, one set-based, idempotent INSERT per batch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from jobline.domains.rooms.schemas import GenerateRoomsPayload
from jobline.domains.rooms.tables import Room, RoomCategory

JOB_NAME = "generate-rooms"


def date_batches(start: dt.date, end: dt.date, batch_size: int) -> Iterator[tuple[dt.date, dt.date]]:
    """Consecutive inclusive (first, last) day ranges of at most `batch_size` days covering [start, end]."""
    first = start
    while first <= end:
        last = min(end, first + dt.timedelta(days=batch_size - 1))
        yield first, last
        first = last + dt.timedelta(days=1)


def days_in(start: dt.date, end: dt.date) -> int:
    """How many days [start, end] holds."""
    return (end - start).days + 1


def _insert_rooms_statement() -> sa.Insert:
    """INSERT … SELECT over generate_series, built once: Postgres makes the days, so no row
    travels over the wire, and ON CONFLICT on (category, date) makes a re-run create nothing."""
    day = sa.func.generate_series(
        sa.cast(sa.bindparam("first", type_=sa.Date), sa.DateTime),
        sa.cast(sa.bindparam("last", type_=sa.Date), sa.DateTime),
        sa.text("interval '1 day'"),
    ).column_valued("day")
    rows = sa.select(
        sa.bindparam("tenant_id", type_=sa.String),
        sa.bindparam("category_id", type_=sa.Uuid),
        sa.cast(day, sa.Date),
        sa.bindparam("price", type_=sa.Numeric(12, 2)),
    )
    # The table, not the mapped class: an ORM insert given parameters would run as a bulk insert.
    return (
        pg_insert(Room.__table__)  # type: ignore[arg-type]  # a Table; mypy sees the wider FromClause
        .from_select(["tenant_id", "category_id", "date", "price"], rows)
        .on_conflict_do_nothing(index_elements=["category_id", "date"])
    )


_INSERT_ROOMS = _insert_rooms_statement()


def insert_rooms(
    session: Session,
    *,
    tenant_id: str,
    category_id: uuid.UUID,
    first: dt.date,
    last: dt.date,
    price: decimal.Decimal,
) -> int:
    """Create the missing rooms of [first, last] in one statement; returns how many were new."""
    params = {"tenant_id": tenant_id, "category_id": category_id, "first": first, "last": last, "price": price}
    result: sa.CursorResult[Any] = session.execute(_INSERT_ROOMS, params)  # type: ignore[assignment]
    return int(result.rowcount)


def find_category(session: Session, *, tenant_id: str, category_id: uuid.UUID) -> RoomCategory | None:
    """The tenant's category with this id, or None (another tenant's reads as none)."""
    return session.scalars(
        sa.select(RoomCategory).where(RoomCategory.id == category_id, RoomCategory.tenant_id == tenant_id)
    ).one_or_none()


@dataclasses.dataclass(frozen=True)
class BatchDone:
    """One batch written: its place among the batches, its days and how many rooms were new."""

    number: int
    of: int
    first: dt.date
    last: dt.date
    created: int

    @property
    def log_line(self) -> str:
        return f"batch {self.number}/{self.of} {self.first}..{self.last}: {self.created} created"


def create_rooms(
    session: Session,
    *,
    tenant_id: str,
    category: RoomCategory,
    payload: GenerateRoomsPayload,
    before_batch: Callable[[], None] = lambda: None,
) -> Iterator[BatchDone]:
    """Create the missing rooms of the payload's days, one statement per batch, yielding each batch
    once written; `before_batch` may raise to stop (a job's deadline)."""
    price = payload.price_override if payload.price_override is not None else category.base_price
    batches = list(date_batches(payload.first_day, payload.last_day, payload.batch_size))
    for number, (first, last) in enumerate(batches, start=1):
        before_batch()
        new = insert_rooms(session, tenant_id=tenant_id, category_id=category.id, first=first, last=last, price=price)
        yield BatchDone(number=number, of=len(batches), first=first, last=last, created=new)


def generation_result(payload: GenerateRoomsPayload, *, created: int, job_id: str) -> dict[str, Any]:
    """The job's result, in the Bull service's shape (with the job's id, as its clients read it)."""
    total = days_in(payload.first_day, payload.last_day)
    return {
        "success": True,
        "totalRoomsCreated": created,
        "totalDatesProcessed": total,
        "errors": [],
        "jobId": job_id,
        "message": f"{created} rooms created, {total - created} already existed",
    }
