"""E-mail campaigns, sent by the scheduled queue's process-campaigns job.

Revision ID: 0004_campaigns
Revises: 0003_bulk
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_campaigns"
down_revision = "0003_bulk"
branch_labels = ("marketing",)
depends_on = None

CAMPAIGN_STATUS = postgresql.ENUM("scheduled", "sent", "failed", name="campaign_status", create_type=False)


def upgrade() -> None:
    CAMPAIGN_STATUS.create(op.get_bind(), checkfirst=False)
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(998), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("recipients", postgresql.ARRAY(sa.String(320)), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", CAMPAIGN_STATUS, server_default="scheduled", nullable=False),
        sa.Column("email_jobs", postgresql.ARRAY(sa.String(64)), server_default="{}", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_campaigns_tenant_status_send_at", "campaigns", ["tenant_id", "status", "send_at"])


def downgrade() -> None:
    op.drop_index("ix_campaigns_tenant_status_send_at", table_name="campaigns")
    op.drop_table("campaigns")
    CAMPAIGN_STATUS.drop(op.get_bind(), checkfirst=False)
