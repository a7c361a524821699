"""Room categories and rooms: SQLAlchemy 2.0 typed models, every row tenant-scoped."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jobline.postgres.orm import Base


class RoomStatus(enum.StrEnum):
    AVAILABLE = "available"
    BOOKED = "booked"
    BLOCKED = "blocked"


class RoomCategory(Base):
    __tablename__ = "room_categories"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_room_categories_tenant_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=sa.text("gen_random_uuid()"))
    tenant_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    base_price: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(12, 2))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (
        # One room per category and day: the key that makes generation idempotent, and the
        # index every room query (a category's date range) uses; no other index is needed.
        sa.UniqueConstraint("category_id", "date", name="uq_rooms_category_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=sa.text("gen_random_uuid()"))
    tenant_id: Mapped[str] = mapped_column(sa.String(128))
    category_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("room_categories.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(sa.Date)
    price: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(12, 2))
    status: Mapped[RoomStatus] = mapped_column(
        sa.Enum(RoomStatus, name="room_status", values_callable=lambda e: [m.value for m in e]),
        server_default=RoomStatus.AVAILABLE.value,
    )
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
