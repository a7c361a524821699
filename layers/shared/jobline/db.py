"""Postgres through SQLAlchemy 2.0 and pg8000: the engine at module scope, sessions owned by callers."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from jobline.config import get_settings


class Base(DeclarativeBase):
    """The declarative base of every domain table."""


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; pre-ping so a Lambda thawed after a DB restart reconnects."""
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2, pool_recycle=300)


@functools.lru_cache(maxsize=1)
def get_engine() -> sa.Engine:
    """The process-wide engine for DATABASE_URL."""
    return make_engine(get_settings().database_url)


@functools.lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)
