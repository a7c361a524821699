"""Seed 001's data-export jobs over HTTP on the local stack, as the seed writes them:

    addJob('data-export', {subAccountId: 'sub_123', exportType: 'leads', format: 'csv', filters: {status: 'active'}})

is `POST /api/jobs/data-export` with that body (the sub-account is the caller's own tenant: the
token says which it is); `GET /api/jobs/data-export/:jobId/status` and `/api/jobs/data-export/stats`
answer with the fields the seed shows. The other export types and formats of its
`DataExportJobData` (bookings, users; excel, pdf) run the same way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import urllib.request
import uuid
import zipfile
from typing import Any

import sqlalchemy as sa

from jobline_dev.local import LocalStack
from tests.e2e.support import Api, JobFlow, matches, run_job_flow, wait_for_job

V1 = "/api/v1"
SEED_TYPES = "/api/jobs"  # the seed's unversioned paths


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read()


def add_data_export(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    """The seed's `addJob('data-export', body)`; the job once it has finished."""
    flow = JobFlow(f"{SEED_TYPES}/data-export", body, f"{SEED_TYPES}/data-export/{{job_id}}/status", timeout=40)
    result = run_job_flow(api, flow)
    assert result.submitted.status == 201, result.submitted.text
    assert result.submitted.body["success"] is True
    assert uuid.UUID(result.submitted.data["jobId"])
    return result.job


def join_waitlist(api: Api, slot_name: str, people: list[dict[str, Any]]) -> str:
    slot = api.post(f"{V1}/waitlist/slots", {"name": slot_name, "holdMinutes": 30})
    assert slot.status == 201, slot.text
    for person in people:
        joined = api.post(f"{V1}/waitlist/slots/{slot.data['id']}/entries", person)
        assert joined.status == 201, joined.text
    return str(slot.data["id"])


def test_seed_001_leads_export_as_written_runs_and_answers_with_the_seeds_fields(
    stack: LocalStack, tenant_api: Api, tenant: str
) -> None:
    join_waitlist(
        tenant_api,
        "Saturday class",
        [
            {"name": "Ann Lee", "email": "ann@example.com", "priority": 2},
            {"name": "Bo Chan", "channel": "sms", "phone": "+14155550100", "priority": 1},
        ],
    )
    job = add_data_export(
        tenant_api,
        # The seed's body; its 'sub_123' is the caller's own sub-account, here the test's tenant.
        {"subAccountId": tenant, "exportType": "leads", "format": "csv", "filters": {"status": "active"}},
    )
    # The seed's getJobStatus answer: jobId, status, result, createdAt, completedAt.
    assert not matches({"jobId": "…", "status": "completed", "result": "…", "createdAt": "…", "completedAt": "…"}, job)
    assert job["result"]["rowCount"] == 2
    rows = list(csv.DictReader(io.StringIO(download(job["result"]["downloadUrl"]).decode())))
    assert sorted((r["name"], r["contact"], r["status"]) for r in rows) == [
        ("Ann Lee", "ann@example.com", "waiting"),
        ("Bo Chan", "+14155550100", "waiting"),
    ]
    # The seed's getQueueStats answer.
    stats = tenant_api.get(f"{SEED_TYPES}/data-export/stats")
    assert stats.status == 200, stats.text
    assert not matches({"waiting": 0, "active": 0, "succeeded": 1, "failed": 0, "delayed": 0}, stats.data)


def test_seed_001_bookings_export_in_excel(stack: LocalStack, tenant_api: Api, tenant: str, sql: sa.Engine) -> None:
    category = tenant_api.post(f"{V1}/room-categories", {"name": "Deluxe", "basePrice": 150})
    assert category.status == 201, category.text
    start = dt.date.today() + dt.timedelta(days=40)
    generation = JobFlow(
        f"{V1}/room-generation",
        {
            "roomCategoryId": category.data["id"],
            "startDate": start.isoformat(),
            "endDate": (start + dt.timedelta(days=4)).isoformat(),
        },
        f"{V1}/room-generation/job/{{job_id}}",
    )
    assert run_job_flow(tenant_api, generation).job["state"] == "completed"
    with sql.begin() as connection:  # two bookings: the API has no booking route of its own
        connection.execute(
            sa.text("UPDATE rooms SET status = 'booked' WHERE tenant_id = :tenant AND date IN (:a, :b)"),
            {"tenant": tenant, "a": start, "b": start + dt.timedelta(days=2)},
        )
    job = add_data_export(
        tenant_api,
        {"subAccountId": tenant, "exportType": "bookings", "format": "excel", "filters": {"status": "confirmed"}},
    )
    assert job["status"] == "completed", job
    assert job["result"]["rowCount"] == 2
    with zipfile.ZipFile(io.BytesIO(download(job["result"]["downloadUrl"]))) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == 3  # the header and two bookings
    assert start.isoformat() in sheet and "confirmed" in sheet and "Deluxe" in sheet


def test_seed_001_users_export_in_pdf_with_columns_user_and_metadata(stack: LocalStack, tenant_api: Api) -> None:
    join_waitlist(tenant_api, "Sunday class", [{"name": "Cy Dorn", "email": "cy@example.com"}])
    body = {
        "exportType": "users",
        "format": "pdf",
        "filters": {"role": "customer"},
        "columns": ["name", "email", "role"],
        "userId": "user_456",
        "metadata": {"source": "crm"},
    }
    job = add_data_export(tenant_api, body)
    assert job["status"] == "completed", job
    result = job["result"]
    assert (result["rowCount"], result["format"], result["userId"], result["metadata"]) == (
        1,
        "pdf",
        "user_456",
        {"source": "crm"},
    )
    assert download(result["downloadUrl"]).startswith(b"%PDF-")


def test_seed_001_export_of_an_unknown_filter_is_422_naming_it(stack: LocalStack, tenant_api: Api, tenant: str) -> None:
    answer = tenant_api.post(
        f"{SEED_TYPES}/data-export",
        {"subAccountId": tenant, "exportType": "leads", "format": "csv", "filters": {"role": "customer"}},
    )
    assert answer.status == 422, answer.text
    assert "filters.role" in answer.text
    foreign = tenant_api.post(f"{SEED_TYPES}/data-export", {"subAccountId": "sub_123", "exportType": "leads"})
    assert foreign.status == 403, foreign.text


def test_seed_001_export_status_is_the_same_job_under_v1(stack: LocalStack, tenant_api: Api) -> None:
    job = add_data_export(tenant_api, {"exportType": "users", "format": "csv"})
    again = wait_for_job(tenant_api, f"{V1}/jobs/data-export/{job['jobId']}/status")
    assert again["jobId"] == job["jobId"] and again["result"]["key"] == job["result"]["key"]
