"""Alembic migrations: they match the models, and they go down and up again."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jobline.db import Base, load_all_models
from jobline.migrate import downgrade, upgrade
from tests.conftest import POSTGRES_ADMIN_URL


def test_migrated_schema_matches_the_models(database_url) -> None:
    load_all_models()
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrations_downgrade_to_base_and_upgrade_again() -> None:
    name = f"jobline_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        downgrade(url, "base")
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert tables <= {"alembic_version"}
        upgrade(url)
        with engine.connect() as conn:
            assert {"rooms", "room_categories"} <= set(sa.inspect(conn).get_table_names())
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
