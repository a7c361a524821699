"""Postgres through SQLAlchemy 2.0 and pg8000; the runtime owns the engine, callers own their sessions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The declarative base of every domain table."""


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; pre-ping so a Lambda thawed after a DB restart reconnects."""
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2, pool_recycle=300)
