"""Waitlist tables: SQLAlchemy 2.0 typed models, every row tenant-scoped.

A slot is one place that one person can have. While it is taken, people wait for it;
when it frees up, the next waiting entry gets a hold (an offer with a deadline), and
answers it through a single-use token of which only a hash is stored.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jobline.postgres.orm import Base


class SlotStatus(enum.StrEnum):
    AVAILABLE = "available"  # free, and no offer is out
    HELD = "held"  # offered to one entry, until its hold is answered or expires
    BOOKED = "booked"  # taken


class EntryStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class HoldStatus(enum.StrEnum):
    ACTIVE = "active"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NotificationKind(enum.StrEnum):
    OFFER = "offer"
    CONFIRMATION = "confirmation"


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # an offer whose hold closed before it could be sent


def _enum(kind: type[enum.StrEnum], name: str) -> sa.Enum:
    return sa.Enum(kind, name=name, values_callable=lambda e: [m.value for m in e])


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _created_at() -> Mapped[dt.datetime]:
    return mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


def _tenant_id() -> Mapped[str]:
    return mapped_column(sa.String(128))


def _slot_id() -> Mapped[uuid.UUID]:
    """The slot the row belongs to; it goes with the slot."""
    return mapped_column(sa.ForeignKey("waitlist_slots.id", ondelete="CASCADE"))


def _entry_id() -> Mapped[uuid.UUID]:
    """The entry the row belongs to; it goes with the entry."""
    return mapped_column(sa.ForeignKey("waitlist_entries.id", ondelete="CASCADE"))


def _unique_where(name: str, *columns: str, where: str) -> sa.Index:
    """A unique index over the rows that match `where` only: the rule holds for live rows, not history."""
    return sa.Index(name, *columns, unique=True, postgresql_where=sa.text(where))


class Slot(Base):
    __tablename__ = "waitlist_slots"
    # Status first: the per-minute sweep looks for free slots across every tenant.
    __table_args__ = (sa.Index("ix_waitlist_slots_status_tenant", "status", "tenant_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[str] = _tenant_id()
    name: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    hold_minutes: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[SlotStatus] = mapped_column(_enum(SlotStatus, "waitlist_slot_status"))
    # No foreign key: entries already point at their slot, and a cycle would need use_alter.
    holder_entry_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[dt.datetime] = _created_at()


class Entry(Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        sa.Index("ix_waitlist_entries_slot_status", "slot_id", "status"),
        # One live place per person and slot; after an answer or expiry they may join again.
        _unique_where(
            "uq_waitlist_entries_slot_recipient_live", "slot_id", "recipient", where="status IN ('waiting', 'offered')"
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[str] = _tenant_id()
    slot_id: Mapped[uuid.UUID] = _slot_id()
    name: Mapped[str] = mapped_column(sa.String(200))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "waitlist_channel"))
    recipient: Mapped[str] = mapped_column(sa.String(320))
    priority: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[EntryStatus] = mapped_column(_enum(EntryStatus, "waitlist_entry_status"))
    # Who came first among equal priorities: a sequence, as two joins can share a timestamp.
    joined_seq: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity())
    created_at: Mapped[dt.datetime] = _created_at()


class Hold(Base):
    __tablename__ = "waitlist_holds"
    __table_args__ = (
        sa.Index("ix_waitlist_holds_status_expires_at", "status", "expires_at"),
        # The database's own guarantee that a slot is never offered to two people at once.
        _unique_where("uq_waitlist_holds_slot_active", "slot_id", where="status = 'active'"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[str] = _tenant_id()
    slot_id: Mapped[uuid.UUID] = _slot_id()
    entry_id: Mapped[uuid.UUID] = _entry_id()
    # SHA-256 of the token, set when the offer is sent; the token itself is never stored.
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    status: Mapped[HoldStatus] = mapped_column(_enum(HoldStatus, "waitlist_hold_status"))
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _created_at()
    resolved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Notification(Base):
    __tablename__ = "waitlist_notifications"
    __table_args__ = (
        sa.Index("ix_waitlist_notifications_status_tenant", "status", "tenant_id"),
        sa.Index("ix_waitlist_notifications_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[str] = _tenant_id()
    slot_id: Mapped[uuid.UUID] = _slot_id()
    entry_id: Mapped[uuid.UUID] = _entry_id()
    hold_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("waitlist_holds.id", ondelete="SET NULL"))
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind, "waitlist_notification_kind"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "waitlist_channel"))
    recipient: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    # An offer's body holds a placeholder where the link goes: the link carries the token.
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[NotificationStatus] = mapped_column(_enum(NotificationStatus, "waitlist_notification_status"))
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = _created_at()


class AuditLog(Base):
    __tablename__ = "waitlist_audit_logs"
    __table_args__ = (
        sa.Index("ix_waitlist_audit_logs_tenant_slot", "tenant_id", "slot_id"),
        sa.Index("ix_waitlist_audit_logs_created_at", "created_at"),
    )

    # A sequence, not a UUID: lines written in one instant still read back in the order they were written.
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    tenant_id: Mapped[str] = _tenant_id()
    # No foreign keys: the trail outlives what it describes.
    slot_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    action: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = _created_at()
