"""Fixtures of the task tests: run-task and the notification job types it enqueues, the API, SES."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from jobline import auth
from tests.api.helpers import Client, make_token
from tests.notifications.support import make_api, registry_restored, verify_sender

JOB_TYPES = (("generic-task", "run-task"), ("email", "send-email"), ("sms", "send-sms"))


@pytest.fixture(autouse=True)
def task_jobs() -> Iterator[ModuleType]:
    """run-task (and send-email/send-sms, which sendNotification enqueues), registered for this test only."""
    with registry_restored(JOB_TYPES):
        from jobline.notifications import jobs as notification_jobs
        from jobline.tasks import jobs

        notification_jobs.register()
        jobs.register()
        yield jobs


@pytest.fixture
def memory_ses(memory_runtime) -> None:
    verify_sender(memory_runtime)


@pytest.fixture
def api(runtime, monkeypatch) -> Iterator[Client]:
    yield make_api(runtime, monkeypatch)
    auth.reset()


@pytest.fixture
def memory_api(memory_runtime, monkeypatch) -> Iterator[Client]:
    yield make_api(memory_runtime, monkeypatch)
    auth.reset()


@pytest.fixture
def token() -> str:
    return make_token(tenant="tenant-a", user="alice")


@pytest.fixture
def admin_token() -> str:
    """Admin-only tasks (cleanupOldData) act like the admin routes and need the role."""
    return make_token(tenant="tenant-a", user="ann", roles=["admin"])
