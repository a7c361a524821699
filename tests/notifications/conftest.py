"""Fixtures of the notification tests: the real e-mail and SMS job types, SES ready to send, the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobline_dev.support import swapped_job_types
from tests.notifications.fixtures import api, memory_api, memory_ses, plain_token, ses, token  # noqa: F401 - shared fixtures

NOTIFICATION_JOB_TYPES = (("email", "send-email"), ("email", "booking-confirmation"), ("sms", "send-sms"))


@pytest.fixture(autouse=True)
def notification_job_types() -> Iterator[None]:
    """The notification job types, registered for this test only (the API suite registers stand-ins)."""
    with swapped_job_types(dict.fromkeys(NOTIFICATION_JOB_TYPES)):
        from jobline.domains.notifications import jobs

        jobs.register()
        yield
