"""Fixtures of the notification tests: the real e-mail and SMS job types, SES ready to send, the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobline import auth
from tests.api.helpers import Client, make_token
from tests.notifications.support import make_api, registry_restored, verify_sender

NOTIFICATION_JOB_TYPES = (("email", "send-email"), ("sms", "send-sms"))


@pytest.fixture(autouse=True)
def notification_job_types() -> Iterator[None]:
    """send-email and send-sms, registered for this test only (the API suite registers stand-ins)."""
    with registry_restored(NOTIFICATION_JOB_TYPES):
        from jobline.notifications import jobs

        jobs.register()
        yield


@pytest.fixture
def ses(runtime) -> None:
    verify_sender(runtime)


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
