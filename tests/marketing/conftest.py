"""Scheduled-job fixtures: a runtime on moto (SQS, S3) and the session's Postgres, with the in-memory job store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import jobline.domains.marketing.jobs  # noqa: F401 - registers the job types the tests run
from jobline.runtime import Runtime
from jobline_dev.support import make_runtime


@pytest.fixture
def rt(aws, memory_store, database_url) -> Iterator[Runtime]:
    runtime = make_runtime(memory_store, database_url=database_url)
    yield runtime
    runtime.engine.dispose()
