"""Fixtures of the task tests: run-task and the notification job types it enqueues, the API, SES."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from jobline_dev.support import swapped_job_types
from tests.api.helpers import make_token
from tests.notifications.fixtures import api, memory_api, memory_ses, token  # noqa: F401 - shared fixtures

JOB_TYPES = (
    ("generic-task", "run-task"),
    ("email", "send-email"),
    ("email", "booking-confirmation"),
    ("sms", "send-sms"),
)


@pytest.fixture(autouse=True)
def task_jobs() -> Iterator[ModuleType]:
    """run-task (and send-email/send-sms, which sendNotification enqueues), registered for this test only."""
    with swapped_job_types(dict.fromkeys(JOB_TYPES)):
        from jobline.domains.notifications import jobs as notification_jobs
        from jobline.domains.tasks import jobs

        notification_jobs.register()
        jobs.register()
        yield jobs


@pytest.fixture
def admin_token() -> str:
    """Admin-only tasks (cleanupOldData) act like the admin routes and need the role."""
    return make_token(tenant="tenant-a", user="ann", roles=["admin"])


@pytest.fixture
def pg_runtime(aws, memory_store, database_url):
    """A runtime on moto, the memory job store and the session's Postgres: for tasks that read domain tables."""
    from jobline_dev.support import make_runtime

    runtime = make_runtime(memory_store, database_url=database_url)
    yield runtime
    runtime.engine.dispose()
