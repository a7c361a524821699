"""Postgres through SQLAlchemy 2.0 and pg8000; the runtime owns the engine, callers own their sessions."""

from __future__ import annotations

import socket
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The declarative base of every domain table."""


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; pre-ping so a Lambda thawed after a DB restart reconnects."""
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2, pool_recycle=300)
    sa.event.listen(engine, "connect", _no_delay)
    return engine


def _no_delay(dbapi_connection: Any, _record: Any) -> None:
    # pg8000 leaves Nagle's algorithm on: a statement with large parameters then waits for a
    # delayed ACK (tens of ms). pg8000 has no option for it, so set it on its socket.
    sock = getattr(dbapi_connection, "_usock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
