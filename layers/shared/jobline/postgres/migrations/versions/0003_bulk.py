"""Mechanics, service providers and policies: the bulk-upload tables, unique per organisation on a natural key.

Revision ID: 0003_bulk
Revises: 0001_rooms
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_bulk"
down_revision = "0001_rooms"
branch_labels = ("bulk",)
depends_on = None


def _common() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("organisation_id", sa.String(128), nullable=False),
        sa.Column("last_upload", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "mechanics",
        *_common(),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("mobile_number", sa.String(32), nullable=True),
        sa.UniqueConstraint("organisation_id", "email", name="uq_mechanics_organisation_email"),
    )
    op.create_table(
        "service_providers",
        *_common(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.UniqueConstraint("organisation_id", "email", name="uq_service_providers_organisation_email"),
    )
    op.create_table(
        "policies",
        *_common(),
        sa.Column("policy_number", sa.String(64), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.UniqueConstraint("organisation_id", "policy_number", name="uq_policies_organisation_policy_number"),
    )


def downgrade() -> None:
    op.drop_table("policies")
    op.drop_table("service_providers")
    op.drop_table("mechanics")
