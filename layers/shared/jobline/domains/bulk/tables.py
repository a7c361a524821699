"""Mechanics, service providers and policies: organisation-scoped, unique per organisation on a natural key.

`organisation_id` holds the caller's tenant id (the organisation the Bull system scoped these to).
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jobline.postgres.orm import Base


class _Uploaded:
    """Columns every bulk-uploaded table has: id, organisation, timestamps, last writer."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=sa.text("gen_random_uuid()"))
    organisation_id: Mapped[str] = mapped_column(sa.String(128))
    # `<job id>#<attempt>` of the bulk upload that last wrote the row: an audit trail, and
    # how one attempt recognises a key it wrote in an earlier chunk (a duplicate within
    # the upload) without mistaking a previous attempt's committed rows for one.
    last_upload: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Mechanic(_Uploaded, Base):
    __tablename__ = "mechanics"
    # The natural key, per organisation: the upsert's conflict target and the index every
    # organisation-scoped query (and export) uses through its leading column.
    __table_args__ = (sa.UniqueConstraint("organisation_id", "email", name="uq_mechanics_organisation_email"),)

    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254))
    mobile_number: Mapped[str | None] = mapped_column(sa.String(32))


class ServiceProvider(_Uploaded, Base):
    __tablename__ = "service_providers"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "email", name="uq_service_providers_organisation_email"),)

    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))


class Policy(_Uploaded, Base):
    __tablename__ = "policies"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "policy_number", name="uq_policies_organisation_policy_number"),
    )

    policy_number: Mapped[str] = mapped_column(sa.String(64))
    type: Mapped[str] = mapped_column(sa.String(50))
