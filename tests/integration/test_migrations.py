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


def test_the_command_migrates_the_database_whose_url_is_in_ssm(aws, monkeypatch) -> None:
    import boto3

    from jobline.config import get_settings
    from jobline.postgres.migrate import main
    from jobline.runtime import get_runtime

    with scratch_database(POSTGRES_ADMIN_URL, prefix="jobline_migrate_ssm", migrate=False) as url:
        boto3.client("ssm").put_parameter(Name="/jobline/test/database-url", Value=url, Type="SecureString")
        monkeypatch.setenv("JOBLINE_DATABASE_URL_PARAMETER", "/jobline/test/database-url")
        monkeypatch.setenv("DATABASE_URL", "postgresql+pg8000://nobody@127.0.0.1:9/none")  # never read
        get_settings.cache_clear()
        get_runtime.cache_clear()
        try:
            main([])
        finally:
            get_settings.cache_clear()
            get_runtime.cache_clear()
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert {"rooms", "room_categories", "alembic_version"} <= set(sa.inspect(conn).get_table_names())
        engine.dispose()
