"""The three bulk-upload kinds: each one's queue, row model, table and natural key, in one registry."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from jobline.domains.bulk.queues import BULK_UPLOAD_MECHANICS, BULK_UPLOAD_POLICIES, BULK_UPLOAD_SERVICE_PROVIDERS
from jobline.domains.bulk.schemas import BulkKindName, MechanicRow, PolicyRow, RowModel, ServiceProviderRow
from jobline.domains.bulk.tables import Mechanic, Policy, ServiceProvider
from jobline.postgres.orm import Base

JOB_NAME = "bulk-upload"


@dataclasses.dataclass(frozen=True)
class BulkKind:
    """What a bulk upload of one kind writes, and the key that makes a row the same row."""

    name: BulkKindName
    queue: str  # the queue its uploads run on
    row_model: type[RowModel]
    model: type[Base]
    key: str  # the natural key column (unique with organisation_id)

    @property
    def table(self) -> sa.Table:
        return self.model.__table__  # type: ignore[return-value]

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns a row sets: the row model's fields, named as the table's columns."""
        return tuple(self.row_model.model_fields)

    @property
    def label(self) -> str:
        """The kind as a sentence starts with it: Mechanics, Service providers, Policies."""
        return self.name.value.replace("-", " ").capitalize()

    @property
    def key_label(self) -> str:
        """The natural key as callers name it (camelCase, as in their rows)."""
        field = self.row_model.model_fields[self.key]
        return field.alias or self.key


KINDS: dict[BulkKindName, BulkKind] = {
    kind.name: kind
    for kind in (
        BulkKind(BulkKindName.MECHANICS, BULK_UPLOAD_MECHANICS, row_model=MechanicRow, model=Mechanic, key="email"),
        BulkKind(
            BulkKindName.SERVICE_PROVIDERS,
            BULK_UPLOAD_SERVICE_PROVIDERS,
            row_model=ServiceProviderRow,
            model=ServiceProvider,
            key="email",
        ),
        BulkKind(BulkKindName.POLICIES, BULK_UPLOAD_POLICIES, row_model=PolicyRow, model=Policy, key="policy_number"),
    )
}
_BY_QUEUE = {kind.queue: kind for kind in KINDS.values()}


def get_kind(name: str | BulkKindName) -> BulkKind:
    """The kind called `name` (KeyError for any other; the API's path model allows only these)."""
    return KINDS[BulkKindName(name)]


def kind_of_queue(queue: str) -> BulkKind:
    """The kind whose uploads run on `queue`."""
    return _BY_QUEUE[queue]
