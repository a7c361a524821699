"""Alembic migrations: they match the models, and they go down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jobline.core.catalog import load_all_tables
from jobline.postgres.migrate import downgrade, upgrade
from jobline.postgres.orm import Base
from jobline_dev.databases import scratch_database
from tests.conftest import POSTGRES_ADMIN_URL


def test_migrated_schema_matches_the_models(database_url) -> None:
    load_all_tables()
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrations_downgrade_to_base_and_upgrade_again() -> None:
    with scratch_database(POSTGRES_ADMIN_URL, prefix="jobline_migrations", migrate=False) as url:
        upgrade(url)
        downgrade(url, "base")
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        upgrade(url)
        with engine.connect() as conn:
            assert {"rooms", "room_categories"} <= set(sa.inspect(conn).get_table_names())
        engine.dispose()
