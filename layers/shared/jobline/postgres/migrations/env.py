"""Alembic environment: online migrations against the configured URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from jobline.core.catalog import load_all_tables
from jobline.postgres.orm import Base

load_all_tables()
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("no database URL: run the migrations through jobline.postgres.migrate")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; give a database URL")
run_migrations_online()
