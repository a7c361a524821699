"""Seed 001 (bee-queue) generic tasks over HTTP against the local stack: its `executeTask` and
`executeServiceMethod` calls as written, and the status its clients poll.

`jobQueueService.executeTask(title, functionName, params, {subAccountId, userId, context})` reaches
Jobline as `POST /api/v1/tasks/execute` with those names (the labels at the top level, or inside
`options` as the seed's fourth argument); `executeServiceMethod(title, serviceName, methodName,
params, options)` as `POST /api/v1/tasks/service-method`. The seed's `subAccountId: 'sub_123'` is
sent as written by a caller whose tenant is `sub_123`. The report's year is moved into the future.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobline_dev.local import LocalStack
from tests.e2e.support import Api, matches, wait_for_job

SUB_ACCOUNT = "sub_123"
EXECUTE = "/api/v1/tasks/execute"
SERVICE_METHOD = "/api/v1/tasks/service-method"
NEXT_YEAR = dt.datetime.now(dt.UTC).year + 1
# What the seed's getJobStatus(type, jobId) prints, for a finished task.
STATUS = {"jobId": "…", "status": "completed", "result": "…", "createdAt": "…", "completedAt": "…"}
# The seed's `myData`: rows from a user's upload, text as people type it.
MY_DATA = [{"name": "  Ann   Lee ", "city": "Leeds "}, {"name": "Bob", "city": "  York"}]


@pytest.fixture
def sub_account_api(stack: LocalStack) -> Api:
    """The API as the seed's user_456 of sub-account sub_123, who may send (sendNotification's SMS)."""
    return Api(stack.api_url, stack.token(tenant=SUB_ACCOUNT, roles=("sender",), user="user_456"))


@pytest.fixture
def sub_account_admin_api(stack: LocalStack) -> Api:
    """The same sub-account's admin: cleanupOldData acts like the admin routes."""
    return Api(stack.api_url, stack.token(tenant=SUB_ACCOUNT, roles=("admin",), user="admin_1"))


def _started(api: Api, path: str, body: dict[str, Any], *, status: int = 201) -> str:
    """Start the task; the answer carries the job id and where to poll, as the seed's controllers answer."""
    answer = api.post(path, body)
    assert answer.status == status, f"POST {path}: {answer.status} {answer.text[:500]}"
    job_id = str(answer.body["jobId"])
    expected = {
        "success": True,
        "message": "…",
        "jobId": job_id,
        "checkStatusAt": f"/api/jobs/generic-task/{job_id}/status",
    }
    assert matches(expected, answer.body) == [], answer.text
    return job_id


def _finished(api: Api, job_id: str, *, timeout: float = 40) -> dict[str, Any]:
    """Poll the seed's status path until the job ends; the answer must carry the seed's fields."""
    path = f"/api/jobs/generic-task/{job_id}/status"
    job = wait_for_job(api, path, timeout=timeout)
    answer = api.get(path)
    assert matches({**STATUS, "jobId": job_id}, answer.body) == [], answer.text
    return job


def test_seed_001_execute_task_process_data_transform(sub_account_api: Api) -> None:
    # executeTask('Data Processing', 'processData', [myData, 'transform'], {subAccountId, userId, context})
    body = {
        "title": "Data Processing",
        "functionName": "processData",
        "params": [MY_DATA, "transform"],
        "subAccountId": "sub_123",
        "userId": "user_456",
        "context": {"source": "user-upload"},
    }
    job = _finished(sub_account_api, _started(sub_account_api, EXECUTE, body))
    assert job["status"] == "completed", job
    assert job["result"]["items"] == [{"name": "Ann Lee", "city": "Leeds"}, {"name": "Bob", "city": "York"}]
    stored = job["data"]
    assert (stored["title"], stored["context"], stored["subAccountId"]) == (
        "Data Processing",
        {"source": "user-upload"},
        "sub_123",
    )


def test_seed_001_execute_task_with_the_labels_as_its_fourth_argument(sub_account_api: Api) -> None:
    body = {
        "title": "Data Processing",
        "functionName": "processData",
        "params": [MY_DATA, "transform"],
        "options": {"subAccountId": "sub_123", "userId": "user_456", "context": {"source": "user-upload"}},
    }
    job = _finished(sub_account_api, _started(sub_account_api, EXECUTE, body))
    assert job["status"] == "completed", job
    assert job["data"]["userId"] == "user_456"


def test_seed_001_execute_service_method_export_leads_with_retries_and_a_5_second_delay(
    sub_account_api: Api,
) -> None:
    # executeServiceMethod('Background Export', 'LeadsService', 'exportLeads', [subAccountId, 'csv'],
    #                      {retries: 3, delay: 5000})
    body = {
        "title": "Background Export",
        "serviceName": "LeadsService",
        "methodName": "exportLeads",
        "params": ["sub_123", "csv"],
        "options": {"retries": 3, "delay": 5000},
    }
    job_id = _started(sub_account_api, SERVICE_METHOD, body, status=202)
    waiting = sub_account_api.get(f"/api/jobs/generic-task/{job_id}/status")
    assert (waiting.data["status"], waiting.data["delay"], waiting.data["maxAttempts"]) == ("delayed", 5000, 4)
    job = _finished(sub_account_api, job_id)
    assert job["status"] == "completed", job
    started_export = job["result"]["result"]
    assert started_export["checkStatusAt"] == f"/api/jobs/data-export/{started_export['exportJobId']}/status"
    export = wait_for_job(sub_account_api, started_export["checkStatusAt"], timeout=40)
    assert export["status"] == "completed", export
    assert export["data"]["exportType"] == "leads"
    assert export["result"]["downloadUrl"]


def test_seed_001_execute_service_method_process_dataset(sub_account_api: Api) -> None:
    # executeServiceMethod('Large Dataset Processing', 'DataProcessingService', 'processDataset',
    #                      [data, {batchSize: 1000}], {subAccountId, retries: 2, delay: 1000})
    data = [{"amount": n, "region": ("eu", "us", "apac")[n % 3]} for n in range(2_500)]
    body = {
        "title": "Large Dataset Processing",
        "serviceName": "DataProcessingService",
        "methodName": "processDataset",
        "params": [data, {"batchSize": 1000}],
        "options": {"subAccountId": "sub_123", "retries": 2, "delay": 1000},
    }
    job = _finished(sub_account_api, _started(sub_account_api, SERVICE_METHOD, body, status=202))
    assert job["status"] == "completed", job
    assert job["progress"] == 100
    assert job["result"]["result"] == {
        "rows": 2_500,
        "batchSize": 1000,
        "batches": 3,
        "columns": {
            "amount": {"count": 2_500, "missing": 0, "sum": sum(range(2_500)), "min": 0, "max": 2_499, "avg": 1249.5},
            "region": {"count": 2_500, "missing": 0, "distinct": 3},
        },
    }


def test_seed_001_execute_task_cleanup_old_leads_needs_the_admin_role(
    sub_account_api: Api, sub_account_admin_api: Api
) -> None:
    # executeTask('Database Cleanup', 'cleanupOldData', ['leads', 30], {subAccountId: 'sub_123'})
    body = {
        "title": "Database Cleanup",
        "functionName": "cleanupOldData",
        "params": ["leads", 30],
        "subAccountId": "sub_123",
    }
    refused = sub_account_api.post(EXECUTE, body)
    assert refused.status == 403, refused.text
    job = _finished(sub_account_admin_api, _started(sub_account_admin_api, EXECUTE, body))
    assert job["status"] == "completed", job
    assert matches({"tableName": "leads", "daysOld": 30, "removed": {"leads": "…"}, "total": "…"}, job["result"]) == []


def test_seed_001_execute_task_monthly_report(sub_account_api: Api) -> None:
    # executeTask('Monthly Report', 'generateReport', ['monthly', {year: 2024, month: 12}],
    #             {subAccountId: 'sub_123', context: {reportType: 'analytics'}})
    body = {
        "title": "Monthly Report",
        "functionName": "generateReport",
        "params": ["monthly", {"year": NEXT_YEAR, "month": 12}],
        "subAccountId": "sub_123",
        "context": {"reportType": "analytics"},
    }
    job = _finished(sub_account_api, _started(sub_account_api, EXECUTE, body))
    assert job["status"] == "completed", job
    report = job["result"]
    assert (report["type"], report["tenantId"]) == ("monthly", SUB_ACCOUNT)
    assert report["period"] == {"start": f"{NEXT_YEAR}-12-01", "end": f"{NEXT_YEAR}-12-31", "days": 31}
    assert matches({"rooms": {"total": "…", "booked": "…", "bookedRevenue": "…"}, "waitlist": "…"}, report) == []


@pytest.mark.parametrize(
    ("function", "params", "result"),
    [
        ("delay", [200], {"delayedMs": 200}),
        ("calculateSum", [[1, 2, 3, 4.5]], {"sum": 10.5, "count": 4}),
        ("sendNotification", ["sms", ["+1234567890"], "Hello from job queue!"], {"channel": "sms", "queue": "sms"}),
        ("customAsyncTask", ["DataProcessingService.processDataset", [[{"n": 1}, {"n": 2}]]], {"method": "…"}),
    ],
)
def test_seed_001_other_built_in_functions_run_positionally(sub_account_api: Api, function, params, result) -> None:
    body = {"title": function, "functionName": function, "params": params, "subAccountId": "sub_123"}
    job = _finished(sub_account_api, _started(sub_account_api, EXECUTE, body))
    assert job["status"] == "completed", job
    assert matches(result, job["result"]) == [], job["result"]


def test_seed_001_tasks_refuse_another_sub_account_and_bad_params_naming_the_field(
    sub_account_api: Api, tenant_api: Api
) -> None:
    body = {"title": "Background Export", "serviceName": "LeadsService", "methodName": "exportLeads"}
    foreign = tenant_api.post(SERVICE_METHOD, {**body, "params": ["sub_123", "csv"]})
    assert foreign.status == 403, foreign.text
    too_many = sub_account_api.post(EXECUTE, {"title": "t", "functionName": "delay", "params": [1, 2]})
    assert too_many.status == 422, too_many.text
    assert [e["field"] for e in too_many.body["errors"]] == ["body.params.1"]
    unknown = sub_account_api.post(SERVICE_METHOD, {**body, "serviceName": "OsService", "params": []})
    assert unknown.status == 422, unknown.text
    assert [e["field"] for e in unknown.body["errors"]] == ["body.serviceName"]
