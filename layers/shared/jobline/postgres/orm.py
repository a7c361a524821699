"""Postgres through SQLAlchemy 2.0 and pg8000; the runtime owns the engine, callers own their sessions."""

from __future__ import annotations

import functools
import socket
import ssl
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

# Makes the password of one new connection from its URL (an RDS IAM authentication token).
AuthToken = Callable[[sa.URL], str]


class Base(DeclarativeBase):
    """The declarative base of every domain table."""


def make_engine(url: str | Callable[[], str], *, auth_token: AuthToken | None = None) -> sa.Engine:
    """An engine for `url`; pre-ping so a Lambda thawed after a DB restart reconnects.

    `url` may be a function (the URL kept in SSM, cached by the caller): it is asked again for
    each new connection, so a rotated password is used without waiting for a cold start.
    With `auth_token`, each new connection's password is `auth_token(url)` and TLS is required.
    """
    source = url if callable(url) else _constant(url)
    engine = sa.create_engine(source(), pool_pre_ping=True, pool_size=2, max_overflow=2, pool_recycle=300)
    sa.event.listen(engine, "connect", _no_delay)
    if callable(url) or auth_token is not None:
        sa.event.listen(engine, "do_connect", functools.partial(_credentials, source, auth_token))
    return engine


def _constant(url: str) -> Callable[[], str]:
    return lambda: url


def _credentials(
    source: Callable[[], str],
    auth_token: AuthToken | None,
    dialect: sa.Dialect,
    _record: Any,
    _cargs: list[Any],
    cparams: dict[str, Any],
) -> None:
    # The engine's URL was read once, at creation; this connection gets the current one.
    url = sa.make_url(source())
    _args, current = dialect.create_connect_args(url)
    if "password" not in current:
        cparams.pop("password", None)
    cparams.update(current)
    if auth_token is not None:
        # An IAM token is a password valid for 15 minutes, made for each connection (it lasts
        # past that once connected); RDS Proxy refuses IAM authentication without TLS.
        cparams["password"] = auth_token(url)
        cparams["ssl_context"] = _tls_context()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Certificate and host name checked against the system's roots, which hold Amazon's
    # (RDS Proxy's certificates come from ACM). Loaded once: a context is shared by connections.
    return ssl.create_default_context()


def _no_delay(dbapi_connection: Any, _record: Any) -> None:
    # pg8000 leaves Nagle's algorithm on: a statement with large parameters then waits for a
    # delayed ACK (tens of ms). pg8000 has no option for it, so set it on its socket.
    sock = getattr(dbapi_connection, "_usock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
