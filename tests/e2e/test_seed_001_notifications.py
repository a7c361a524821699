"""Seed 001 (bee-queue) over HTTP against the local stack: its SMS and e-mail jobs as written, their
status and their queue's stats.

`addJob('sms', data, {retries: 3, delay: 5000})` reaches Jobline as `POST /api/jobs/sms` with the
data and `options`; the seed's clients then poll `/api/jobs/{type}/{jobId}/status`. The seed's
`subAccountId: 'sub_123'` is sent as written by a caller whose tenant is `sub_123` (Jobline
refuses another tenant's sub-account; the job's tenant is always the token's).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobline_dev.local import LocalStack
from tests.e2e.support import Api, matches, wait_for_job

SUB_ACCOUNT = "sub_123"
SMS_DATA = {"subAccountId": "sub_123", "phoneNumbers": ["+1234567890"], "message": "Hello from job queue!"}
SMS_OPTIONS = {"retries": 3, "delay": 5000}  # 5 second delay
# Seed 001's EmailJobData: a registered template rendered with templateData.
EMAIL_DATA = {
    "subAccountId": "sub_123",
    "to": ["ann@example.com", "bob@example.com"],
    "subject": "Your account is ready",
    "template": "welcome",
    "templateData": {"name": "Ann", "product": "Loctelli"},
    "userId": "user_456",
    "metadata": {"source": "signup"},
}
# What the seed's getJobStatus('sms', jobId) prints.
STATUS = {
    "jobId": "…",
    "status": "completed",
    "result": {"total": 1, "successful": 1, "failed": 0, "results": ["…"]},
    "createdAt": "…",
    "completedAt": "…",
}
STATS_FIELDS = {"waiting": "…", "active": "…", "succeeded": "…", "failed": "…", "delayed": "…"}


@pytest.fixture
def sub_account_api(stack: LocalStack) -> Api:
    """The API as a user of the seed's sub-account who may send e-mail and SMS of their own writing."""
    return Api(stack.api_url, stack.token(tenant=SUB_ACCOUNT, roles=("sender",), user="user_456"))


def _added(api: Api, job_type: str, body: dict[str, Any]) -> str:
    """POST /api/jobs/{job_type} as the seed's addJob does; the job id."""
    answer = api.post(f"/api/jobs/{job_type}", body)
    # 201 queued, 202 scheduled for later.
    assert answer.status in (201, 202), f"POST {job_type}: {answer.status} {answer.text[:500]}"
    job_id = str(answer.data["jobId"])
    # The seed's controllers answer {success, message, jobId, checkStatusAt}.
    status_path = f"/api/jobs/{job_type}/{job_id}/status"
    expected = {"success": True, "message": "…", "jobId": job_id, "checkStatusAt": status_path}
    assert matches(expected, answer.body) == [], answer.text
    return job_id


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_seed_001_sms_job_with_retries_and_a_5_second_delay_is_sent_then_shows_its_result(
    sub_account_api: Api,
) -> None:
    job_id = _added(sub_account_api, "sms", {**SMS_DATA, "options": SMS_OPTIONS})
    status_path = f"/api/jobs/sms/{job_id}/status"
    waiting = sub_account_api.get(status_path)
    assert waiting.status == 200, waiting.text
    assert (waiting.data["status"], waiting.data["delay"], waiting.data["maxAttempts"]) == ("delayed", 5000, 4)

    job = wait_for_job(sub_account_api, status_path, timeout=40)
    answer = sub_account_api.get(status_path)
    assert matches({**STATUS, "jobId": job_id}, answer.body) == [], answer.text
    assert matches({**STATUS, "jobId": job_id}, job) == [], job
    [sent] = job["result"]["results"]
    assert (sent["recipient"], sent["status"]) == ("+1234567890", "sent") and sent["messageId"]
    assert _time(job["completedAt"]) - _time(job["createdAt"]) >= dt.timedelta(seconds=5), "ran after its delay"
    assert {k: job["data"][k] for k in SMS_DATA} == SMS_DATA


def test_seed_001_sms_campaign_controller_body_on_the_versioned_path(sub_account_api: Api) -> None:
    # The seed's CampaignsController: {phoneNumbers, message, subAccountId} plus the user.
    body = {
        "subAccountId": "sub_123",
        "phoneNumbers": ["+1234567890", "+14155550100"],
        "message": "Spring sale starts today",
        "userId": "current-user-id",
        "campaignId": "spring-2027",
    }
    answer = sub_account_api.post("/api/v1/jobs/sms", body)
    assert answer.status == 201, answer.text
    job = wait_for_job(sub_account_api, answer.body["checkStatusAt"], timeout=40)
    assert job["status"] == "completed", job
    assert matches({"total": 2, "successful": 2, "failed": 0}, job["result"]) == []
    assert [r["recipient"] for r in job["result"]["results"]] == body["phoneNumbers"]


def test_seed_001_email_job_renders_its_template_for_each_recipient(sub_account_api: Api) -> None:
    job_id = _added(sub_account_api, "email", EMAIL_DATA)
    job = wait_for_job(sub_account_api, f"/api/jobs/email/{job_id}/status", timeout=40)
    expected = {**STATUS, "jobId": job_id, "result": {"total": 2, "successful": 2, "failed": 0, "results": ["…"]}}
    assert matches(expected, job) == [], job
    assert all(r["status"] == "sent" and r["messageId"] for r in job["result"]["results"])
    assert {k: job["data"][k] for k in EMAIL_DATA} == EMAIL_DATA


def test_seed_001_email_with_an_unknown_template_is_refused_naming_the_field(sub_account_api: Api) -> None:
    answer = sub_account_api.post("/api/jobs/email", {**EMAIL_DATA, "template": "no-such-template"})
    assert answer.status == 422, answer.text
    assert "body.template" in [e["field"] for e in answer.body["errors"]]


def test_seed_001_sms_stats_answer_the_seed_fields(sub_account_api: Api) -> None:
    job_id = _added(sub_account_api, "sms", SMS_DATA)
    wait_for_job(sub_account_api, f"/api/jobs/sms/{job_id}/status", timeout=40)
    answer = sub_account_api.get("/api/jobs/sms/stats")
    assert answer.status == 200, answer.text
    assert matches(STATS_FIELDS, answer.data) == [], answer.data
    assert answer.data["succeeded"] >= 1


def test_seed_001_sub_account_of_another_tenant_is_refused(tenant_api: Api) -> None:
    answer = tenant_api.post("/api/jobs/sms", SMS_DATA)
    assert answer.status == 403, answer.text
    assert "body.subAccountId" in [e["field"] for e in answer.body["errors"]]
