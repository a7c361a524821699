"""Fixtures of the fault ledger: a Postgres database of its own (its connections get terminated)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from jobline_dev.databases import scratch_database
from tests.conftest import POSTGRES_ADMIN_URL
from tests.faults import effects
from tests.faults.effects import PostgresKiller


@pytest.fixture
def fault_database_url() -> Iterator[str]:
    """A database no other test uses, so terminating its backends hurts no one; dropped afterwards."""
    with scratch_database(POSTGRES_ADMIN_URL, prefix="jobline_faults", migrate=False) as url:
        effects.create_tables(url)
        yield url


@pytest.fixture
def pg_killer(fault_database_url: str) -> Iterator[PostgresKiller]:
    killer = PostgresKiller(POSTGRES_ADMIN_URL, str(make_url(fault_database_url).database))
    yield killer
    killer.dispose()
