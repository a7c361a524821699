"""Shared set-up for the benchmarks: a throwaway Postgres database."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from jobline.databases import scratch_database as _scratch

POSTGRES_ADMIN_URL = os.environ.get(
    "JOBLINE_BENCH_POSTGRES_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated database that exists for the length of the benchmark."""
    with _scratch(POSTGRES_ADMIN_URL, prefix="jobline_bench") as url:
        yield url
