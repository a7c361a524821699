"""The set-based upsert: one INSERT … SELECT FROM json_to_recordset(…) ON CONFLICT DO UPDATE per chunk of rows."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Session

from jobline.domains.bulk.kinds import BulkKind


@dataclasses.dataclass(frozen=True)
class Upserted:
    """What one chunk did: rows created, rows updated, and updates of a key this upload wrote before."""

    created: int
    updated: int
    repeated: int


@functools.cache
def upsert_statement(kind: BulkKind) -> sa.Select[Any]:
    """The chunk statement of `kind`, built once.

    The chunk travels as one JSON parameter that `json_to_recordset` turns back into
    typed rows: one parameter whatever the chunk's size (a VALUES list needs one per
    cell, and pg8000 escapes array parameters in pure Python, cell by cell). Then:

        input     the chunk's rows
        upserted  the insert; xmax = 0 marks a row that was inserted rather than updated
        repeats   rows of the chunk whose key this same attempt wrote in an earlier chunk;
                  the statement's snapshot predates the insert, so these are earlier writes
    """
    table = kind.table
    typed = [sa.column(column, table.c[column].type) for column in kind.columns]
    records = sa.func.json_to_recordset(sa.cast(sa.bindparam("rows", type_=sa.Text), pg.JSON))
    source = sa.select(*records.table_valued(*typed, name="input").render_derived(with_types=True).c).cte("input")
    organisation = sa.bindparam("organisation_id", type_=sa.String)
    upload = sa.bindparam("last_upload", type_=sa.String)

    # LATERAL … LIMIT 1 keeps this a unique-index probe per input row: as a plain join the
    # planner may hash the organisation's whole table, once per chunk.
    probe = (
        sa.select(sa.literal(1).label("hit"))
        .where(
            table.c.organisation_id == organisation,
            table.c[kind.key] == source.c[kind.key],
            table.c.last_upload == upload,
        )
        .limit(1)
        .lateral("probe")
    )
    repeats = sa.select(sa.func.count()).select_from(source).join(probe, sa.true()).scalar_subquery()
    insert = pg.insert(table).from_select(
        ["organisation_id", "last_upload", *kind.columns],
        sa.select(organisation, upload, *(source.c[column] for column in kind.columns)),
    )
    changes = {column: insert.excluded[column] for column in kind.columns if column != kind.key}
    upserted = (
        insert.on_conflict_do_update(
            index_elements=["organisation_id", kind.key],
            set_={**changes, "last_upload": insert.excluded.last_upload, "updated_at": sa.func.now()},
        )
        .returning(sa.literal_column("xmax = 0").label("created"))
        .cte("upserted")
    )
    return sa.select(sa.func.count().filter(upserted.c.created), sa.func.count(), repeats).select_from(upserted)


def upsert_rows(
    session: Session, kind: BulkKind, rows: Sequence[dict[str, Any]], *, organisation_id: str, upload: str
) -> Upserted:
    """Write `rows` (distinct natural keys) for the organisation in one statement."""
    if not rows:
        return Upserted(0, 0, 0)
    params = {
        "rows": json.dumps(rows, separators=(",", ":")),
        "organisation_id": organisation_id,
        "last_upload": upload,
    }
    created, total, repeated = session.execute(upsert_statement(kind), params).one()
    return Upserted(created=int(created), updated=int(total) - int(created), repeated=int(repeated))
