"""POST /tasks/execute and /tasks/service-method through the API handler: seed 001's executeTask and
executeServiceMethod as HTTP bodies, their answers, their refusals field by field."""

from __future__ import annotations

from typing import Any

import pytest

from jobline.core.states import JobState
from jobline.engine.worker import Worker
from jobline_dev.support import deliver, receive
from tests.notifications.support import V1

Q = "generic-task"
EXECUTE = f"{V1}/tasks/execute"
SERVICE_METHOD = f"{V1}/tasks/service-method"


def nothing_queued(runtime: Any) -> bool:
    counts = runtime.store.counts(Q)
    return receive(runtime, Q) == [] and counts[JobState.WAITING] == counts[JobState.DELAYED] == 0


def finished(api: Any, runtime: Any, answer: Any, token: str) -> dict[str, Any]:
    """Run the queued job, then read its status where the answer says to."""
    assert answer.status == 201, answer.text
    deliver(runtime, Worker(runtime), Q)
    status = api.get(answer.json["checkStatusAt"], token=token)
    assert status.status == 200, status.text
    return status.json


def test_execute_task_as_the_seed_writes_it_runs_and_answers_with_the_job_id(memory_api, memory_runtime, token) -> None:
    body = {
        "title": "Data Processing",
        "functionName": "processData",
        "params": [{"name": "  Ann  Lee "}, "transform"],
        "subAccountId": "tenant-a",
        "userId": "user_456",
        "context": {"source": "user-upload"},
    }
    answer = memory_api.post(EXECUTE, token=token, json_body=body)
    job_id = answer.json["jobId"]
    assert answer.json["checkStatusAt"] == f"/api/jobs/generic-task/{job_id}/status"
    assert (answer.data["queue"], answer.data["name"], answer.data["state"]) == (Q, "run-task", "waiting")
    status = finished(memory_api, memory_runtime, answer, token)
    assert (status["jobId"], status["status"]) == (job_id, "completed")
    assert status["result"]["items"] == [{"name": "Ann Lee"}]
    assert status["completedAt"] is not None and status["createdAt"] is not None
    stored = status["data"]["data"]
    assert {k: stored[k] for k in ("title", "context", "userId", "subAccountId")} == {
        "title": "Data Processing",
        "context": {"source": "user-upload"},
        "userId": "user_456",
        "subAccountId": "tenant-a",
    }
    assert stored["params"]["data"] == [{"name": "  Ann  Lee "}]


def test_execute_task_takes_the_labels_inside_options_as_the_seeds_fourth_argument(
    memory_api, memory_runtime, token
) -> None:
    body = {
        "title": "Monthly Report",
        "functionName": "generateReport",
        "params": ["queues", {"queues": ["email"]}],
        "options": {"subAccountId": "tenant-a", "context": {"reportType": "analytics"}},
    }
    status = finished(memory_api, memory_runtime, memory_api.post(EXECUTE, token=token, json_body=body), token)
    assert status["status"] == "completed"
    assert status["data"]["data"]["context"] == {"reportType": "analytics"}
    assert status["result"]["tenantId"] == "tenant-a"


def test_execute_task_with_retries_and_a_delay_in_ms_is_scheduled(memory_api, memory_runtime, token) -> None:
    body = {
        "title": "Sum",
        "functionName": "calculateSum",
        "params": [[1, 2]],
        "options": {"retries": 3, "delay": 5000},
    }
    answer = memory_api.post(EXECUTE, token=token, json_body=body)
    assert (answer.status, answer.data["state"]) == (202, "delayed")
    job = memory_runtime.store.get(answer.json["jobId"])
    assert job.max_attempts == 4
    assert 4.5 <= (job.run_at - job.created_at).total_seconds() <= 5.5


def test_cleanup_old_data_stays_admin_only_on_execute(memory_api, memory_runtime, token, admin_token) -> None:
    body = {"title": "Database Cleanup", "functionName": "cleanupOldData", "params": ["email", 30]}
    assert memory_api.post(EXECUTE, token=token, json_body=body).status == 403
    assert nothing_queued(memory_runtime)
    status = finished(
        memory_api, memory_runtime, memory_api.post(EXECUTE, token=admin_token, json_body=body), admin_token
    )
    assert status["result"] == {
        "tableName": "email",
        "daysOld": 30,
        "removed": {"completed": 0, "failed": 0},
        "total": 0,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"functionName": "delay", "params": [1, 2]}, "body.params.1"),
        ({"functionName": "calculateSum", "params": [[1, "2"]]}, "body.params.0.1"),
        ({"functionName": "processData", "params": [["a"], "eval"]}, "body.params.1"),
        ({"functionName": "generateReport", "params": ["monthly", {"year": 2024, "month": 13}]}, "body.params.1.month"),
        ({"functionName": "os.system", "params": ["rm -rf /"]}, "body.functionName"),
        ({"functionName": "delay", "params": [1], "options": {"delay": -1}}, "body.options.delay"),
        ({"functionName": "delay", "params": [1], "context": {}, "options": {"context": {}}}, "body.options.context"),
        ({"functionName": "delay", "params": [1], "surprise": True}, "body.surprise"),
    ],
)
def test_execute_task_refusals_name_the_field(memory_api, memory_runtime, token, body, field) -> None:
    answer = memory_api.post(EXECUTE, token=token, json_body={"title": "t", **body})
    assert answer.status == 422, answer.text
    assert field in answer.fields(), answer.fields()
    assert nothing_queued(memory_runtime)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"functionName": "delay", "params": [1], "subAccountId": "tenant-b"}, "body.subAccountId"),
        (
            {"functionName": "delay", "params": [1], "options": {"subAccountId": "tenant-b"}},
            "body.options.subAccountId",
        ),
        ({"functionName": "customAsyncTask", "params": ["LeadsService.exportLeads", ["tenant-b", "csv"]]}, None),
    ],
)
def test_execute_task_for_another_sub_account_is_403(memory_api, memory_runtime, token, body, field) -> None:
    answer = memory_api.post(EXECUTE, token=token, json_body=body)
    assert answer.status == 403, answer.text
    assert "must be your own tenant" in answer.json["message"]
    if field is not None:
        assert answer.fields() == [field]
    assert nothing_queued(memory_runtime)


def test_service_method_as_the_seed_writes_it_adds_the_leads_export(memory_api, memory_runtime, token) -> None:
    body = {
        "title": "Background Export",
        "serviceName": "LeadsService",
        "methodName": "exportLeads",
        "params": ["tenant-a", "csv"],
        "options": {"retries": 3},
    }
    answer = memory_api.post(SERVICE_METHOD, token=token, json_body=body)
    status = finished(memory_api, memory_runtime, answer, token)
    assert status["status"] == "completed", status
    export_id = status["result"]["result"]["exportJobId"]
    export = memory_api.get(f"/api/jobs/data-export/{export_id}/status", token=token)
    assert export.status == 200, export.text
    assert export.json["data"]["data"]["exportType"] == "leads"
    assert memory_runtime.store.get(answer.json["jobId"]).max_attempts == 4


def test_service_method_with_the_seeds_delay_is_scheduled(memory_api, token) -> None:
    body = {
        "title": "Background Export",
        "serviceName": "LeadsService",
        "methodName": "exportLeads",
        "params": ["tenant-a", "csv"],
        "options": {"retries": 3, "delay": 5000},
    }
    answer = memory_api.post(SERVICE_METHOD, token=token, json_body=body)
    assert (answer.status, answer.data["state"]) == (202, "delayed"), answer.text


def test_service_method_process_dataset_runs_in_batches(memory_api, memory_runtime, token) -> None:
    rows = [{"value": n} for n in range(5)]
    body = {
        "title": "Large Dataset Processing",
        "serviceName": "DataProcessingService",
        "methodName": "processDataset",
        "params": [rows, {"batchSize": 2}],
        "options": {"subAccountId": "tenant-a", "retries": 2},
    }
    status = finished(memory_api, memory_runtime, memory_api.post(SERVICE_METHOD, token=token, json_body=body), token)
    assert status["result"]["result"]["batches"] == 3
    assert status["result"]["result"]["columns"]["value"]["sum"] == 10


@pytest.mark.parametrize(
    ("names", "params", "field"),
    [
        (("OsService", "system"), [], "body.serviceName"),
        (("LeadsService", "dropAll"), [], "body.methodName"),
        (("LeadsService", "__class__"), [], "body.methodName"),
        (("LeadsService", "exportLeads"), ["tenant-a", "csv", None, "x"], "body.params.3"),
        (("LeadsService", "exportLeads"), ["tenant-a", "docx"], "body.params.1"),
        (("DataProcessingService", "processDataset"), [[{"a": 1}], {"batchSize": 0}], "body.params.1.batchSize"),
    ],
)
def test_service_method_refusals_name_the_field(memory_api, memory_runtime, token, names, params, field) -> None:
    body = {"title": "t", "serviceName": names[0], "methodName": names[1], "params": params}
    answer = memory_api.post(SERVICE_METHOD, token=token, json_body=body)
    assert answer.status == 422, answer.text
    assert field in answer.fields(), answer.fields()
    assert nothing_queued(memory_runtime)


def test_service_method_for_another_sub_account_is_403_and_queues_nothing(memory_api, memory_runtime, token) -> None:
    body = {"title": "x", "serviceName": "LeadsService", "methodName": "exportLeads", "params": ["tenant-b", "csv"]}
    answer = memory_api.post(SERVICE_METHOD, token=token, json_body=body)
    assert answer.status == 403, answer.text
    assert "body.params.0" in answer.json["message"]
    assert answer.fields() == ["body.params.0"], "the 403 names where the foreign sub-account was"
    assert nothing_queued(memory_runtime)


def test_generic_task_route_takes_positional_params_too(memory_api, memory_runtime, token) -> None:
    body = {"task": "calculateSum", "params": [[2, 3]]}
    status = finished(
        memory_api, memory_runtime, memory_api.post(f"{V1}/jobs/generic-task", token=token, json_body=body), token
    )
    assert status["result"] == {"sum": 5, "count": 2}


def test_execute_task_options_keep_backoff_and_job_id_beside_the_labels(memory_api, memory_runtime, token) -> None:
    options = {"backoff": {"type": "exponential", "delay": 5000}, "attempts": 2, "jobId": "report-1", "userId": "u9"}
    body = {"title": "Sum", "functionName": "calculateSum", "params": [[1]], "options": options}
    first = memory_api.post(EXECUTE, token=token, json_body=body)
    assert first.status == 201, first.text
    job = memory_runtime.store.get(first.json["jobId"])
    assert (job.backoff.type, job.max_attempts, job.data["userId"]) == ("exponential", 2, "u9")
    assert job.backoff.delay == 5  # kept in seconds inside the job
    again = memory_api.post(EXECUTE, token=token, json_body=body)
    assert (again.status, again.json["jobId"]) == (200, job.id)


def test_generic_task_route_refuses_a_foreign_sub_account_in_positional_params(
    memory_api, memory_runtime, token
) -> None:
    body = {"task": "customAsyncTask", "params": ["LeadsService.exportLeads", ["tenant-b", "csv"]]}
    answer = memory_api.post(f"{V1}/jobs/generic-task", token=token, json_body=body)
    assert answer.status == 403, answer.text
    assert "body.params.1.0" in answer.json["message"]
    assert nothing_queued(memory_runtime)
