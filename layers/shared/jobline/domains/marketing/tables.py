"""E-mail campaigns: a tenant's message to a list of recipients, sent once when it falls due."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from jobline.postgres.orm import Base


class CampaignStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waits for its send time
    SENT = "sent"  # its e-mail jobs are queued
    FAILED = "failed"  # could not be sent as written (a bad address, no body); `error` says why


class Campaign(Base):
    __tablename__ = "campaigns"
    # The process-campaigns job's question: a tenant's scheduled campaigns due by now.
    __table_args__ = (sa.Index("ix_campaigns_tenant_status_send_at", "tenant_id", "status", "send_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=sa.text("gen_random_uuid()"))
    tenant_id: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(998))
    html: Mapped[str | None] = mapped_column(sa.Text)
    text: Mapped[str | None] = mapped_column(sa.Text)
    recipients: Mapped[list[str]] = mapped_column(ARRAY(sa.String(320)))
    send_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    status: Mapped[CampaignStatus] = mapped_column(
        sa.Enum(CampaignStatus, name="campaign_status", values_callable=lambda e: [m.value for m in e]),
        server_default=CampaignStatus.SCHEDULED.value,
    )
    email_jobs: Mapped[list[str]] = mapped_column(ARRAY(sa.String(64)), server_default="{}")
    error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
