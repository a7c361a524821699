"""The seeds' own e-mail and SMS requests through the API handler: seed 001's addJob('sms' | 'email', ...)
as POST /api/jobs/{type}, seed 002's addEmailJob(name, data, opts) as POST /api/v1/queues/email/jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobline.core.states import JobState
from jobline.engine.worker import Worker
from jobline_dev.support import deliver, receive
from tests.api.helpers import make_token
from tests.e2e.support import matches
from tests.notifications.support import V1, mail_to, sent_sms

EMAIL_LANE = "email-priority"  # the email queue's default priority 3 rides its priority lane
SUB_ACCOUNT = "sub_123"  # the seeds' sub-account, here the caller's own tenant
SEED_001_SMS = {"subAccountId": "sub_123", "phoneNumbers": ["+1234567890"], "message": "Hello from job queue!"}
SEED_001_EMAIL = {
    "subAccountId": "sub_123",
    "to": ["ann@example.com", "bob@example.com"],
    "subject": "Your account is ready",
    "template": "welcome",
    "templateData": {"name": "Ann", "product": "Loctelli"},
    "userId": "user_456",
    "metadata": {"source": "signup", "tags": ["trial"]},
}
SEED_002_EMAIL = {"to": "user@example.com", "subject": "Welcome to GNB Transfer", "html": "<h1>Welcome!</h1>"}
SEED_002_REMINDER = {"to": "user@example.com", "subject": "Reminder", "html": "<p>This is a reminder</p>"}


@pytest.fixture
def sub_account_token() -> str:
    return make_token(tenant=SUB_ACCOUNT, user="user_456", roles=("sender",))


def test_seed_001_sms_with_retries_and_delay_in_ms_is_queued_as_written(
    memory_api, memory_runtime, sub_account_token
) -> None:
    body = {**SEED_001_SMS, "options": {"retries": 3, "delay": 5000}}
    answer = memory_api.post("/api/jobs/sms", token=sub_account_token, json_body=body)
    assert (answer.status, answer.json["message"]) == (202, "job scheduled"), answer.text
    assert (answer.data["queue"], answer.data["name"]) == ("sms", "send-sms")
    job = memory_runtime.store.get(answer.data["jobId"])
    assert job.tenant_id == SUB_ACCOUNT, "the token's tenant"
    assert job.max_attempts == 4, "retries: 3 is three runs after the first"
    assert (job.run_at - job.created_at) == dt.timedelta(milliseconds=5000)
    assert {k: job.data[k] for k in ("subAccountId", "phoneNumbers", "message")} == SEED_001_SMS
    status = memory_api.get(f"/api/jobs/sms/{job.id}/status", token=sub_account_token)
    assert (status.status, status.data["delay"]) == (200, 5000)


def test_seed_001_sms_is_sent_and_its_status_shows_the_seed_result(
    memory_api, memory_runtime, sub_account_token
) -> None:
    answer = memory_api.post("/api/jobs/sms", token=sub_account_token, json_body=SEED_001_SMS)
    assert answer.status == 201, answer.text
    deliver(memory_runtime, Worker(memory_runtime), "sms-priority")
    deliver(memory_runtime, Worker(memory_runtime), "sms")
    assert sent_sms() == [("+1234567890", "Hello from job queue!")]
    status = memory_api.get(answer.json["checkStatusAt"], token=sub_account_token)
    expected = {
        "jobId": answer.data["jobId"],
        "status": "completed",
        "result": {"total": 1, "successful": 1, "failed": 0, "results": ["…"]},
        "createdAt": "…",
        "completedAt": "…",
    }
    assert matches(expected, status.json) == [], status.text
    assert matches(expected, status.data) == [], status.text
    [result] = status.data["result"]["results"]
    assert (result["recipient"], result["status"]) == ("+1234567890", "sent")
    assert status.data["completedAt"] is not None
    stats = memory_api.get("/api/jobs/sms/stats", token=sub_account_token).data
    assert matches({"waiting": 0, "active": 0, "succeeded": 1, "failed": 0, "delayed": 0}, stats) == []


def test_seed_001_email_renders_its_template_with_template_data_under_its_own_subject(
    memory_api, memory_runtime, memory_ses, sub_account_token
) -> None:
    answer = memory_api.post("/api/jobs/email", token=sub_account_token, json_body=SEED_001_EMAIL)
    assert answer.status == 201, answer.text
    stored = memory_runtime.store.get(answer.data["jobId"])
    assert {k: stored.data[k] for k in SEED_001_EMAIL} == SEED_001_EMAIL, "kept as the client wrote it"
    deliver(memory_runtime, Worker(memory_runtime), EMAIL_LANE)
    done = memory_runtime.store.get(stored.id)
    assert done.state is JobState.COMPLETED
    assert (done.result["total"], done.result["successful"], done.result["failed"]) == (2, 2, 0)
    for address in SEED_001_EMAIL["to"]:
        [message] = mail_to(address)
        assert message.subject == "Your account is ready", "the request's subject replaces the template's"
        assert "your <b>Loctelli</b> account is ready" in message.body


def test_seed_002_send_email_to_one_address_by_queue_add(memory_api, memory_runtime, memory_ses, token) -> None:
    body = {"name": "send-email", "data": SEED_002_EMAIL}
    answer = memory_api.post(f"{V1}/queues/email/jobs", token=token, json_body=body)
    assert answer.status == 201, answer.text
    assert memory_runtime.store.get(answer.data["jobId"]).data["to"] == ["user@example.com"]
    deliver(memory_runtime, Worker(memory_runtime), EMAIL_LANE)
    [message] = mail_to("user@example.com")
    assert (message.subject, message.body) == ("Welcome to GNB Transfer", "<h1>Welcome!</h1>")
    status = memory_api.get(f"{V1}/jobs/email/{answer.data['jobId']}/status", token=token).data
    assert (status["status"], status["result"]["successful"]) == ("completed", 1)


def test_seed_002_email_with_a_one_hour_delay_waits_delayed_for_its_hour(memory_api, memory_runtime, token) -> None:
    body = {"name": "send-email", "data": SEED_002_REMINDER, "opts": {"delay": 3600000}}
    answer = memory_api.post(f"{V1}/queues/email/jobs", token=token, json_body=body)
    assert (answer.status, answer.data["state"]) == (202, "delayed"), answer.text
    job = memory_runtime.store.get(answer.data["jobId"])
    assert job.run_at - job.created_at == dt.timedelta(hours=1)
    # Longer than SQS's 15 minutes: the per-minute tick sends it when due, nothing is queued now.
    assert receive(memory_runtime, EMAIL_LANE) == [] and receive(memory_runtime, "email") == []
    status = memory_api.get(f"{V1}/jobs/email/{job.id}/status", token=token).data
    assert (status["status"], status["delay"], status["completedAt"]) == ("delayed", 3600000, None)


@pytest.mark.parametrize(
    ("route", "body", "field", "says"),
    [
        ("sms", {**SEED_001_SMS, "recipients": ["+14155550100"]}, "body.recipients", "phoneNumbers or recipients"),
        ("sms", {**SEED_001_SMS, "phoneNumbers": ["+1234567890", "12"]}, "body.phoneNumbers.1", "E.164"),
        ("sms", {"subAccountId": "sub_123", "message": "hi"}, "body.phoneNumbers", "required"),
        ("sms", {**SEED_001_SMS, "metadata": {f"k{i}": i for i in range(51)}}, "body.metadata", "50"),
        ("email", {**SEED_001_EMAIL, "template": "no-such-template"}, "body.template", "unknown template"),
        ("email", {**SEED_001_EMAIL, "templateData": {"name": "Ann"}}, "body.templateData", "product"),
        ("email", {k: v for k, v in SEED_001_EMAIL.items() if k != "templateData"}, "body.templateData", "name"),
        ("email", {**SEED_001_EMAIL, "variables": {}}, "body.variables", "templateData or variables"),
        ("email", {**SEED_001_EMAIL, "to": ["ann@example.com", "nobody"]}, "body.to.1", "not a valid e-mail"),
        ("email", {**SEED_002_EMAIL, "to": "nobody"}, "body.to", "not a valid e-mail"),
        ("email", {**SEED_002_EMAIL, "to": "x" * 400 + "@example.com"}, "body.to", "not a valid e-mail"),
        ("email", {**SEED_002_EMAIL, "to": []}, "body.to", "at least 1"),
        ("email", {**SEED_001_EMAIL, "html": "<p>x</p>"}, "body.html", "either a template"),
        ("email", {**SEED_001_EMAIL, "userId": ""}, "body.userId", "at least 1"),
    ],
)
def test_seed_payload_with_a_bad_field_answers_422_naming_it(
    memory_api, memory_runtime, sub_account_token, route: str, body: dict[str, Any], field: str, says: str
) -> None:
    answer = memory_api.post(f"/api/jobs/{route}", token=sub_account_token, json_body=body)
    assert answer.status == 422, answer.text
    assert field in answer.fields(), answer.fields()
    assert says in " ".join(e["message"] for e in answer.json["errors"])
    assert memory_runtime.store.counts(route)[JobState.WAITING] == 0
