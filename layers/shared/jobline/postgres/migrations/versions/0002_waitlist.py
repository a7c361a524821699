"""Waitlist: slots, entries, holds, notifications and audit logs.

Revision ID: 0002_waitlist
Revises: 0001_rooms
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_waitlist"
down_revision = "0001_rooms"
branch_labels = ("waitlist",)
depends_on = None

# Created once up front: two tables share the channel type, so no table may create its own.
ENUMS = {
    "waitlist_slot_status": ("available", "held", "booked"),
    "waitlist_entry_status": ("waiting", "offered", "accepted", "declined", "expired"),
    "waitlist_hold_status": ("active", "accepted", "declined", "expired"),
    "waitlist_channel": ("email", "sms"),
    "waitlist_notification_kind": ("offer", "confirmation"),
    "waitlist_notification_status": ("pending", "sent", "failed", "cancelled"),
}


def _enum(name: str) -> postgresql.ENUM:
    return postgresql.ENUM(*ENUMS[name], name=name, create_type=False)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), primary_key=True)


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(128), nullable=False)


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _slot_fk() -> sa.Column:
    return sa.Column("slot_id", sa.Uuid(), sa.ForeignKey("waitlist_slots.id", ondelete="CASCADE"), nullable=False)


def _entry_fk() -> sa.Column:
    return sa.Column("entry_id", sa.Uuid(), sa.ForeignKey("waitlist_entries.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    bind = op.get_bind()
    for name, values in ENUMS.items():
        postgresql.ENUM(*values, name=name).create(bind, checkfirst=False)
    op.create_table(
        "waitlist_slots",
        _id(),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hold_minutes", sa.Integer(), nullable=False),
        sa.Column("status", _enum("waitlist_slot_status"), nullable=False),
        sa.Column("holder_entry_id", sa.Uuid(), nullable=True),
        _created_at(),
    )
    op.create_index("ix_waitlist_slots_status_tenant", "waitlist_slots", ["status", "tenant_id"])
    op.create_table(
        "waitlist_entries",
        _id(),
        _tenant(),
        _slot_fk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", _enum("waitlist_channel"), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", _enum("waitlist_entry_status"), nullable=False),
        sa.Column("joined_seq", sa.BigInteger(), sa.Identity(), nullable=False),
        _created_at(),
    )
    op.create_index("ix_waitlist_entries_slot_status", "waitlist_entries", ["slot_id", "status"])
    op.create_index(
        "uq_waitlist_entries_slot_recipient_live",
        "waitlist_entries",
        ["slot_id", "recipient"],
        unique=True,
        postgresql_where=sa.text("status IN ('waiting', 'offered')"),
    )
    op.create_table(
        "waitlist_holds",
        _id(),
        _tenant(),
        _slot_fk(),
        _entry_fk(),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("status", _enum("waitlist_hold_status"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _created_at(),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_waitlist_holds_status_expires_at", "waitlist_holds", ["status", "expires_at"])
    op.create_index(
        "uq_waitlist_holds_slot_active",
        "waitlist_holds",
        ["slot_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "waitlist_notifications",
        _id(),
        _tenant(),
        _slot_fk(),
        _entry_fk(),
        sa.Column("hold_id", sa.Uuid(), sa.ForeignKey("waitlist_holds.id", ondelete="SET NULL"), nullable=True),
        sa.Column("kind", _enum("waitlist_notification_kind"), nullable=False),
        sa.Column("channel", _enum("waitlist_channel"), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", _enum("waitlist_notification_status"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
    )
    op.create_index("ix_waitlist_notifications_status_tenant", "waitlist_notifications", ["status", "tenant_id"])
    op.create_index("ix_waitlist_notifications_created_at", "waitlist_notifications", ["created_at"])
    op.create_table(
        "waitlist_audit_logs",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        _tenant(),
        sa.Column("slot_id", sa.Uuid(), nullable=True),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        _created_at(),
    )
    op.create_index("ix_waitlist_audit_logs_tenant_slot", "waitlist_audit_logs", ["tenant_id", "slot_id"])
    op.create_index("ix_waitlist_audit_logs_created_at", "waitlist_audit_logs", ["created_at"])


def downgrade() -> None:
    # Dropping a table drops its indexes; the types go once no column uses them.
    for table in (
        "waitlist_audit_logs",
        "waitlist_notifications",
        "waitlist_holds",
        "waitlist_entries",
        "waitlist_slots",
    ):
        op.drop_table(table)
    bind = op.get_bind()
    for name in reversed(ENUMS):
        postgresql.ENUM(name=name).drop(bind, checkfirst=True)
