"""What each export type reads: its columns as SQL expressions and its query, always confined to one tenant."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from jobline.bulk.models import Mechanic, Policy, ServiceProvider
from jobline.exports.schemas import COLUMNS, ExportFilters, ExportPayload, ExportType
from jobline.rooms.models import Room, RoomCategory

Column = sa.ColumnElement[Any] | QueryableAttribute[Any]


@dataclasses.dataclass(frozen=True)
class Source:
    """One export type: the column expressions, the tenant column, and how filters and order apply."""

    columns: dict[str, Column]
    tenant_column: Column
    from_clause: Callable[[str], sa.FromClause]  # the tables, joined within the tenant
    filters: Callable[[ExportFilters], list[sa.ColumnElement[bool]]]
    order_by: tuple[Column, ...]


def _created(column: Any, filters: ExportFilters) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if filters.created_from is not None:
        conditions.append(column >= filters.created_from)
    if filters.created_to is not None:
        conditions.append(column <= filters.created_to)
    return conditions


def _room_filters(filters: ExportFilters) -> list[sa.ColumnElement[bool]]:
    conditions = _created(Room.created_at, filters)
    if filters.date_from is not None:
        conditions.append(Room.date >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(Room.date <= filters.date_to)
    if filters.status is not None:
        conditions.append(Room.status == filters.status)
    if filters.room_category_id is not None:
        conditions.append(Room.category_id == filters.room_category_id)
    return conditions


def _rooms_from(tenant_id: str) -> sa.FromClause:
    # The category must be the tenant's too: a room never points across tenants, but the
    # join condition says so rather than trusting it.
    on = sa.and_(RoomCategory.id == Room.category_id, RoomCategory.tenant_id == tenant_id)
    return sa.join(Room, RoomCategory, on)


def _uploaded(model: Any, fields: dict[str, Any], *, extra_filters: Callable[..., list[Any]] | None = None) -> Source:
    def filters(f: ExportFilters) -> list[sa.ColumnElement[bool]]:
        return _created(model.created_at, f) + (extra_filters(f) if extra_filters else [])

    columns = {"id": model.id, **fields, "createdAt": model.created_at, "updatedAt": model.updated_at}
    return Source(
        columns=columns,
        tenant_column=model.organisation_id,
        from_clause=lambda tenant_id: model.__table__,
        filters=filters,
        order_by=(model.id,),
    )


SOURCES: dict[ExportType, Source] = {
    ExportType.ROOMS: Source(
        columns={
            "id": Room.id,
            "roomCategoryId": Room.category_id,
            "categoryName": RoomCategory.name,
            "date": Room.date,
            "price": Room.price,
            "status": Room.status,
            "createdAt": Room.created_at,
        },
        tenant_column=Room.tenant_id,
        from_clause=_rooms_from,
        filters=_room_filters,
        # The (category_id, date) unique index gives this order without a sort.
        order_by=(Room.category_id, Room.date),
    ),
    ExportType.MECHANICS: _uploaded(
        Mechanic,
        {
            "firstName": Mechanic.first_name,
            "lastName": Mechanic.last_name,
            "email": Mechanic.email,
            "mobileNumber": Mechanic.mobile_number,
        },
    ),
    ExportType.SERVICE_PROVIDERS: _uploaded(
        ServiceProvider, {"name": ServiceProvider.name, "email": ServiceProvider.email}
    ),
    ExportType.POLICIES: _uploaded(
        Policy,
        {"policyNumber": Policy.policy_number, "type": Policy.type},
        extra_filters=lambda f: [Policy.type == f.type] if f.type is not None else [],
    ),
}
# The payload's allow-lists and the expressions here must name the same columns.
assert all(tuple(SOURCES[t].columns) == COLUMNS[t] for t in ExportType), "export columns out of step"


def _where(source: Source, payload: ExportPayload, tenant_id: str) -> list[sa.ColumnElement[bool]]:
    return [source.tenant_column == tenant_id, *source.filters(payload.filters)]


def as_text(column: Column) -> sa.ColumnElement[str]:
    """The column rendered as CSV text by Postgres: ISO 8601 times and dates, plain numbers, enum values.

    Postgres formats far faster than pg8000 parses (it reads a timestamp with strptime)
    and Python formats back; exports then move strings only. Times come out in the
    session's time zone, which the export sets to UTC.
    """
    sql_type = column.type
    if isinstance(sql_type, sa.DateTime):
        return sa.func.to_json(column).op("#>>")(sa.literal_column("'{}'"))
    if isinstance(sql_type, sa.Date):
        return sa.func.to_char(column, "YYYY-MM-DD")
    if isinstance(sql_type, sa.String) and not isinstance(sql_type, sa.Enum):
        return sa.type_coerce(column, sa.Text)
    return sa.cast(column, sa.Text)


def rows_query(payload: ExportPayload, *, tenant_id: str) -> sa.Select[*tuple[Any, ...]]:
    """The selected columns, as text, of the tenant's rows that pass the filters, in a stable order."""
    source = SOURCES[payload.export_type]
    selected = [as_text(source.columns[name]).label(name) for name in payload.selected_columns()]
    return (
        sa.select(*selected)
        .select_from(source.from_clause(tenant_id))
        .where(*_where(source, payload, tenant_id))
        .order_by(*source.order_by)
    )


def count_query(payload: ExportPayload, *, tenant_id: str) -> sa.Select[int]:
    """How many rows `rows_query` yields (for progress)."""
    source = SOURCES[payload.export_type]
    return (
        sa.select(sa.func.count()).select_from(source.from_clause(tenant_id)).where(*_where(source, payload, tenant_id))
    )
