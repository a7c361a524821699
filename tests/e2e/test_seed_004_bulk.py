"""Seed 004 (bulk uploads) over HTTP on the local stack: every request as the seed writes it, with a token.

The three uploads post the seed's bare JSON arrays; each job is then read at
`GET /api/v1/jobs/{queueName}/{jobId}/status`, whose answer must carry the fields of the
seed's example response, and the queue statistics at the two `/api/v1/queues/.../stats` routes.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobline_dev.local import LocalStack
from tests.e2e.support import Api, matches, wait_for_job

V1 = "/api/v1"
# The seed's request bodies, as written.
UPLOADS: dict[str, list[dict[str, Any]]] = {
    "mechanics": [
        {
            "firstName": "John",
            "lastName": "Doe",
            "email": "john@example.com",
            "mobileNumber": "1234567890",
        }
    ],
    "service-providers": [
        {
            "name": "Provider Name",
            "email": "provider@example.com",
        }
    ],
    "policies": [
        {
            "policyNumber": "POL123",
            "type": "auto",
        }
    ],
}
LABELS = {"mechanics": "Mechanics", "service-providers": "Service providers", "policies": "Policies"}
STATS_FIELDS = {"waiting": "…", "active": "…", "completed": "…", "failed": "…", "delayed": "…"}


def seed_status_answer(job_id: str, kind: str) -> dict[str, Any]:
    """The seed's example answer for a finished upload of one row, times and message left open."""
    return {
        "success": True,
        "data": {
            "jobId": job_id,
            "status": "completed",
            "progress": 100,
            "result": {"success": True, "uploaded": 1, "message": "…"},
            "createdAt": "…",
            "completedAt": "…",
            "queueName": f"bulk-upload-{kind}",
        },
    }


@pytest.mark.parametrize("kind", list(UPLOADS))
def test_seed_bulk_upload_as_written_completes_and_its_status_carries_the_seed_fields(
    stack: LocalStack, tenant_api: Api, kind: str
) -> None:
    submitted = tenant_api.post(f"{V1}/bulk-upload/{kind}", UPLOADS[kind])
    assert submitted.status == 202, submitted.text
    assert submitted.body["success"] is True
    job_id = submitted.data["jobId"]
    queue = f"bulk-upload-{kind}"
    assert submitted.data["queue"] == queue

    status_path = f"{V1}/jobs/{queue}/{job_id}/status"
    wait_for_job(tenant_api, status_path, timeout=30)
    answer = tenant_api.get(status_path)
    assert answer.status == 200, answer.text
    assert matches(seed_status_answer(job_id, kind), answer.body) == [], answer.text
    message = answer.data["result"]["message"]
    assert message.startswith(f"{LABELS[kind]} bulk upload completed successfully"), message
    assert answer.data["completedAt"] >= answer.data["createdAt"]


def test_seed_bulk_upload_status_of_another_organisation_is_404(stack: LocalStack, tenant_api: Api) -> None:
    submitted = tenant_api.post(f"{V1}/bulk-upload/mechanics", UPLOADS["mechanics"])
    assert submitted.status == 202, submitted.text
    status_path = f"{V1}/jobs/bulk-upload-mechanics/{submitted.data['jobId']}/status"
    wait_for_job(tenant_api, status_path, timeout=30)
    outsider = tenant_api.with_token(stack.token(tenant="another-organisation", roles=()))
    assert outsider.get(status_path).status == 404
    assert tenant_api.with_token(None).get(status_path).status == 401


def test_seed_bulk_upload_of_a_bad_row_is_reported_by_row_and_field(stack: LocalStack, tenant_api: Api) -> None:
    rows = [UPLOADS["mechanics"][0], {"firstName": "Jane", "lastName": "Roe", "email": "not-an-email"}]
    submitted = tenant_api.post(f"{V1}/bulk-upload/mechanics", rows)
    assert submitted.status == 202, submitted.text
    job = wait_for_job(tenant_api, f"{V1}/jobs/bulk-upload-mechanics/{submitted.data['jobId']}/status", timeout=30)
    result = job["result"]
    assert (result["success"], result["uploaded"], result["failed"]) == (False, 1, 1)
    assert result["errors"] == [{"row": 2, "field": "email", "message": "is not a valid e-mail address"}]


def test_seed_bulk_upload_with_a_bad_body_is_422_naming_the_row(stack: LocalStack, tenant_api: Api) -> None:
    answer = tenant_api.post(f"{V1}/bulk-upload/policies", [{"policyNumber": "POL123", "type": "auto"}, "POL124"])
    assert answer.status == 422
    assert [error["field"] for error in answer.body["errors"]] == ["body.rows.1"]


def test_seed_queue_statistics_routes_answer_the_bulk_queues(stack: LocalStack, tenant_api: Api) -> None:
    submitted = tenant_api.post(f"{V1}/bulk-upload/policies", UPLOADS["policies"])
    assert submitted.status == 202, submitted.text
    wait_for_job(tenant_api, f"{V1}/jobs/bulk-upload-policies/{submitted.data['jobId']}/status", timeout=30)

    every = tenant_api.get(f"{V1}/queues/stats")
    assert every.status == 200, every.text
    by_queue = {entry["queue"]: entry for entry in every.data}
    for kind in UPLOADS:
        assert matches(STATS_FIELDS, by_queue[f"bulk-upload-{kind}"]) == []
    assert by_queue["bulk-upload-policies"]["completed"] == 1

    one = tenant_api.get(f"{V1}/queues/bulk-upload-policies/stats")
    assert one.status == 200, one.text
    assert matches({"success": True, "data": {"queue": "bulk-upload-policies", **STATS_FIELDS}}, one.body) == []
    assert one.data["completed"] == 1
