"""Alembic migrations, shipped in the layer and run programmatically (`python -m jobline.postgres.migrate`)."""

from __future__ import annotations

import argparse
import pathlib

from alembic import command
from alembic.config import Config

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for the package's migrations against `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the database at `database_url` to `revision` (default: every domain branch's head)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run Jobline's database migrations.")
    parser.add_argument("revision", nargs="?", default="heads")
    parser.add_argument(
        "--database-url",
        default=None,
        help="defaults to the functions' own: from JOBLINE_DATABASE_URL_PARAMETER (SSM), else DATABASE_URL",
    )
    args = parser.parse_args(argv)
    # The same URL the functions use, so a deployed stack's database is migrated without its
    # secret ever being typed or kept in the environment.
    from jobline.runtime import get_runtime

    upgrade(args.database_url or get_runtime().database_url(), args.revision)


if __name__ == "__main__":
    main()
