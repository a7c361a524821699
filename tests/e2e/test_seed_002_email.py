"""Seed 002 (BullMQ) e-mail jobs over HTTP against the local stack, as its addEmailJob calls send them.

`addEmailJob(name, data, opts)` is BullMQ's `emailQueue.add(name, data, opts)`: over HTTP,
`POST /api/v1/queues/email/jobs` with `{name, data, opts}`. The seed's admin API reads a job at
`/api/v1/admin/jobs/:queueName/:jobId`; its owner reads it at `/api/v1/jobs/email/{jobId}/status`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobline_dev.local import LocalStack
from tests.e2e.support import Api, matches, wait_for_job

ADD = "/api/v1/queues/email/jobs"
SEND_EMAIL = {"to": "user@example.com", "subject": "Welcome to GNB Transfer", "html": "<h1>Welcome!</h1>"}
REMINDER = {"to": "user@example.com", "subject": "Reminder", "html": "<p>This is a reminder</p>"}
ONE_HOUR_MS = 3600000
# The app's own objects, as a Mongo-backed app hands them over (the seed's bookingObject, userObject).
BOOKING = {
    "_id": "65f1c0ffee1234567890abcd",
    "tourName": "Istanbul Airport transfer",
    "date": "2027-06-18T14:45:00.000Z",
    "guests": 3,
    "amount": 95,
    "currency": "EUR",
    "pickupLocation": "Istanbul Airport (IST)",
    "dropoffLocation": "Sultanahmet",
    "status": "confirmed",
}
USER = {"_id": "u-1", "email": "user@example.com", "name": "Deniz Kaya", "password": "$2b$12$hash", "role": "user"}


@pytest.fixture
def admin_api(stack: LocalStack, tenant: str) -> Api:
    """The seed's admin: the admin role in the test's tenant."""
    return Api(stack.api_url, stack.token(tenant=tenant, roles=("admin",)))


def _add(api: Api, name: str, data: dict[str, Any], opts: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "data": data}
    if opts is not None:
        body["opts"] = opts
    answer = api.post(ADD, body)
    # 201 queued, 202 scheduled for later.
    assert answer.status in (201, 202), f"POST {ADD} {name}: {answer.status} {answer.text[:500]}"
    assert matches({"queue": "email", "name": name, "jobId": "…"}, answer.data) == [], answer.data
    return dict(answer.data)


def test_seed_002_send_email_is_sent_to_its_one_address(sender_api: Api, tenant_api: Api, admin_api: Api) -> None:
    added = _add(sender_api, "send-email", SEND_EMAIL)
    job = wait_for_job(tenant_api, f"/api/v1/jobs/email/{added['jobId']}/status", timeout=40)
    assert (job["status"], job["name"], job["queueName"]) == ("completed", "send-email", "email")
    assert matches({"total": 1, "successful": 1, "failed": 0}, job["result"]) == [], job["result"]
    [sent] = job["result"]["results"]
    assert (sent["recipient"], sent["status"]) == ("user@example.com", "sent") and sent["messageId"]
    details = admin_api.get(f"/api/v1/admin/jobs/email/{added['jobId']}")
    assert details.status == 200, details.text
    assert (details.data["id"], details.data["state"]) == (added["jobId"], "completed")


def test_seed_002_booking_confirmation_emails_the_user(tenant_api: Api) -> None:
    added = _add(tenant_api, "booking-confirmation", {"booking": BOOKING, "user": USER})
    job = wait_for_job(tenant_api, f"/api/v1/jobs/email/{added['jobId']}/status", timeout=40)
    assert job["status"] == "completed", job
    expected = {"bookingId": BOOKING["_id"], "total": 1, "successful": 1, "failed": 0}
    assert matches(expected, job["result"]) == [], job["result"]
    assert job["data"]["user"] == {"email": "user@example.com", "name": "Deniz Kaya"}, "no password hash kept"


def test_seed_002_email_with_a_one_hour_delay_waits_delayed_for_its_hour(sender_api: Api, tenant_api: Api) -> None:
    added = _add(sender_api, "send-email", REMINDER, {"delay": ONE_HOUR_MS})
    assert added["state"] == "delayed"
    answer = tenant_api.get(f"/api/v1/jobs/email/{added['jobId']}/status")
    assert answer.status == 200, answer.text
    job = answer.data
    assert (job["status"], job["delay"], job["completedAt"]) == ("delayed", ONE_HOUR_MS, None)
    runs_in = dt.datetime.fromisoformat(job["scheduledAt"]) - dt.datetime.fromisoformat(job["createdAt"])
    assert runs_in == dt.timedelta(hours=1)
    assert dt.datetime.fromisoformat(job["scheduledAt"]) - dt.datetime.now(dt.UTC) > dt.timedelta(minutes=59)


def test_seed_002_booking_confirmation_without_the_users_address_is_refused_naming_it(tenant_api: Api) -> None:
    answer = tenant_api.post(ADD, {"name": "booking-confirmation", "data": {"booking": BOOKING, "user": {"name": "X"}}})
    assert answer.status == 422, answer.text
    assert "body.data.user.email" in [e["field"] for e in answer.body["errors"]]
