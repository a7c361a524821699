"""Room categories and rooms.

Revision ID: 0001_rooms
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_rooms"
down_revision = None
branch_labels = None
depends_on = None

ROOM_STATUS = sa.Enum("available", "booked", "blocked", name="room_status")


def upgrade() -> None:
    op.create_table(
        "room_categories",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("base_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_room_categories_tenant_name"),
    )
    op.create_index("ix_room_categories_tenant_id", "room_categories", ["tenant_id"])
    op.create_table(
        "rooms",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("category_id", sa.Uuid(), sa.ForeignKey("room_categories.id", ondelete="CASCADE"), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("status", ROOM_STATUS, server_default="available", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("category_id", "date", name="uq_rooms_category_date"),
    )


def downgrade() -> None:
    op.drop_table("rooms")
    op.drop_index("ix_room_categories_tenant_id", table_name="room_categories")
    op.drop_table("room_categories")
    ROOM_STATUS.drop(op.get_bind(), checkfirst=True)
