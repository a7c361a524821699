"""Throwaway Postgres databases for tests, benchmarks and the local stack."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from jobline.postgres.migrate import upgrade


def create_database(admin_url: str, *, prefix: str = "jobline") -> str:
    """Create a database with a fresh name on the server of `admin_url`; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, database_url: str) -> None:
    """Drop the database of `database_url`, closing anyone's connections to it."""
    name = make_url(database_url).database
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextlib.contextmanager
def scratch_database(admin_url: str, *, prefix: str = "jobline", migrate: bool = True) -> Iterator[str]:
    """A database (migrated unless told otherwise) that exists for the length of the block."""
    url = create_database(admin_url, prefix=prefix)
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        drop_database(admin_url, url)
