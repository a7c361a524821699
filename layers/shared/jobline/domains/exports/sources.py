"""What each export type reads: its columns as SQL expressions and its query, always confined to one tenant."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import QueryableAttribute

from jobline.domains.bulk.tables import Mechanic, Policy, ServiceProvider
from jobline.domains.exports.schemas import COLUMNS, ExportFilters, ExportPayload, ExportType, Role
from jobline.domains.rooms.tables import Room, RoomCategory, RoomStatus
from jobline.domains.waitlist.tables import Channel, Entry, Slot

Column = sa.ColumnElement[Any] | QueryableAttribute[Any]


@dataclasses.dataclass(frozen=True)
class Source:
    """One export type: the column expressions, the tenant column, and how filters and order apply."""

    columns: dict[str, Column]
    tenant_column: Column
    from_clause: Callable[[str], sa.FromClause]  # the tables, joined within the tenant
    filters: Callable[[ExportFilters], list[sa.ColumnElement[bool]]]
    order_by: tuple[Column, ...]
    # Conditions every row of the type meets (a booking is a booked room), whatever the filters.
    always: tuple[sa.ColumnElement[bool], ...] = ()


def _created(column: Any, filters: ExportFilters) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if filters.created_from is not None:
        conditions.append(column >= filters.created_from)
    if filters.created_to is not None:
        conditions.append(column <= filters.created_to)
    return conditions


def _room_filters(filters: ExportFilters, export_type: ExportType) -> list[sa.ColumnElement[bool]]:
    conditions = _created(Room.created_at, filters)
    if filters.date_from is not None:
        conditions.append(Room.date >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(Room.date <= filters.date_to)
    statuses = filters.statuses(export_type)
    if statuses is not None:
        conditions.append(Room.status.in_([RoomStatus(s) for s in statuses]))
    if filters.room_category_id is not None:
        conditions.append(Room.category_id == filters.room_category_id)
    return conditions


def _lead_filters(filters: ExportFilters) -> list[sa.ColumnElement[bool]]:
    conditions = _created(Entry.created_at, filters)
    statuses = filters.statuses(ExportType.LEADS)
    if statuses is not None:
        conditions.append(Entry.status.in_(statuses))
    if filters.slot_id is not None:
        conditions.append(Entry.slot_id == filters.slot_id)
    return conditions


def _leads_from(tenant_id: str) -> sa.FromClause:
    return sa.join(Entry, Slot, sa.and_(Slot.id == Entry.slot_id, Slot.tenant_id == tenant_id))


def _people() -> sa.Subquery:
    """Every tenant's people with a role: mechanics, service providers, and each waitlist contact
    as one customer (their first entry). The tenant condition outside is pushed into each arm."""
    mechanics = sa.select(
        Mechanic.id.label("id"),
        sa.literal(Role.MECHANIC.value, sa.String).label("role"),
        (Mechanic.first_name + " " + Mechanic.last_name).label("name"),
        Mechanic.email.label("email"),
        Mechanic.mobile_number.label("phone"),
        Mechanic.created_at.label("created_at"),
        Mechanic.organisation_id.label("tenant_id"),
    )
    providers = sa.select(
        ServiceProvider.id,
        sa.literal(Role.SERVICE_PROVIDER.value, sa.String),
        ServiceProvider.name,
        ServiceProvider.email,
        sa.null(),
        ServiceProvider.created_at,
        ServiceProvider.organisation_id,
    )
    by_email = Entry.channel == Channel.EMAIL
    customers = (
        sa.select(
            Entry.id,
            sa.literal(Role.CUSTOMER.value, sa.String),
            Entry.name,
            sa.case((by_email, Entry.recipient)),
            sa.case((sa.not_(by_email), Entry.recipient)),
            Entry.created_at,
            Entry.tenant_id,
        )
        # DISTINCT ON leads with the tenant, so the tenant condition can still be pushed inside it.
        .ext(postgresql.distinct_on(Entry.tenant_id, Entry.recipient))
        .order_by(Entry.tenant_id, Entry.recipient, Entry.joined_seq)
    )
    return sa.union_all(mechanics, providers, customers).subquery("people")


PEOPLE = _people()


def _people_filters(filters: ExportFilters) -> list[sa.ColumnElement[bool]]:
    conditions = _created(PEOPLE.c.created_at, filters)
    if filters.role is not None:
        conditions.append(PEOPLE.c.role == filters.role.value)
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


def _rooms(export_type: ExportType, *, status: Column, always: tuple[sa.ColumnElement[bool], ...] = ()) -> Source:
    """The tenant's rooms with their category's name: every room, or (bookings) the booked ones."""
    return Source(
        columns={
            "id": Room.id,
            "roomCategoryId": Room.category_id,
            "categoryName": RoomCategory.name,
            "date": Room.date,
            "price": Room.price,
            "status": status,
            "createdAt": Room.created_at,
        },
        tenant_column=Room.tenant_id,
        from_clause=_rooms_from,
        filters=lambda f: _room_filters(f, export_type),
        # The (category_id, date) unique index gives this order without a sort.
        order_by=(Room.category_id, Room.date),
        always=always,
    )


SOURCES: dict[ExportType, Source] = {
    ExportType.ROOMS: _rooms(ExportType.ROOMS, status=Room.status),
    # Every row is a booked room: shown as the booking it is.
    ExportType.BOOKINGS: _rooms(
        ExportType.BOOKINGS, status=sa.literal("confirmed", sa.String), always=(Room.status == RoomStatus.BOOKED,)
    ),
    ExportType.LEADS: Source(
        columns={
            "id": Entry.id,
            "name": Entry.name,
            "channel": Entry.channel,
            "contact": Entry.recipient,
            "priority": Entry.priority,
            "status": Entry.status,
            "slotId": Entry.slot_id,
            "slotName": Slot.name,
            "createdAt": Entry.created_at,
        },
        tenant_column=Entry.tenant_id,
        from_clause=_leads_from,
        filters=_lead_filters,
        order_by=(Entry.joined_seq,),
    ),
    ExportType.USERS: Source(
        columns={
            "id": PEOPLE.c.id,
            "role": PEOPLE.c.role,
            "name": PEOPLE.c.name,
            "email": PEOPLE.c.email,
            "phone": PEOPLE.c.phone,
            "createdAt": PEOPLE.c.created_at,
        },
        tenant_column=PEOPLE.c.tenant_id,
        from_clause=lambda tenant_id: PEOPLE,
        filters=_people_filters,
        order_by=(PEOPLE.c.role, PEOPLE.c.created_at, PEOPLE.c.id),
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
    return [source.tenant_column == tenant_id, *source.always, *source.filters(payload.filters)]


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
