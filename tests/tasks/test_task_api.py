"""POST /tasks through the API handler: registered tasks run; any other name is a 422 and nothing is queued."""

from __future__ import annotations

from typing import Any

import pytest

from jobline.core.states import JobState
from jobline.engine.worker import Worker
from jobline_dev.support import deliver, receive
from tests.notifications.support import V1

Q = "generic-task"


def nothing_queued(runtime: Any) -> bool:
    counts = runtime.store.counts(Q)
    return receive(runtime, Q) == [] and counts[JobState.WAITING] == counts[JobState.DELAYED] == 0


@pytest.mark.parametrize(
    ("name", "params", "check"),
    [
        ("delay", {"ms": 1}, lambda r: r == {"delayedMs": 1}),
        ("calculateSum", {"numbers": [1, 2, 3.5]}, lambda r: r == {"sum": 6.5, "count": 3}),
        ("processData", {"items": ["a", "b"], "transform": "uppercase"}, lambda r: r["items"] == ["A", "B"]),
        (
            "sendNotification",
            {"channel": "sms", "recipients": ["+14155550100"], "message": "hi"},
            lambda r: r["queue"] == "sms",
        ),
        ("cleanupOldData", {"queue": "email", "olderThanDays": 30}, lambda r: r["total"] == 0),
        ("generateReport", {"queues": ["email"]}, lambda r: r["tenantId"] == "tenant-a"),
        (
            "customAsyncTask",
            {"method": "diagnostics.echo", "args": {"message": "x"}},
            lambda r: r["result"] == {"message": "x"},
        ),
    ],
)
def test_post_task_each_builtin_runs_and_its_status_shows_the_result(
    api, runtime, token, admin_token, name, params, check
) -> None:
    token = admin_token if name == "cleanupOldData" else token  # admin-only, like the clean route
    answer = api.post(f"{V1}/tasks", token=token, json_body={"name": name, "params": params})
    assert answer.status == 201, answer.text
    deliver(runtime, Worker(runtime), Q)
    status = api.get(f"{V1}/jobs/generic-task/{answer.data['jobId']}/status", token=token).data
    assert status["state"] == "completed", status["failedReason"]
    assert check(status["result"])


def test_post_task_with_options_is_scheduled_with_its_retries(memory_api, token) -> None:
    body = {"name": "calculateSum", "params": {"numbers": [1]}, "options": {"attempts": 5, "delay": 60_000}}
    answer = memory_api.post(f"{V1}/tasks", token=token, json_body=body)
    assert (answer.status, answer.data["state"]) == (202, "delayed")
    status = memory_api.get(f"{V1}/jobs/generic-task/{answer.data['jobId']}/status", token=token).data
    assert (status["maxAttempts"], status["delay"]) == (5, 60_000)


@pytest.mark.parametrize(
    "name",
    [
        "os.system",
        "__import__",
        "eval",
        "exec",
        "builtins.eval",
        "subprocess.run",
        "jobline.engine.operations.clean_queue",
        "delay.__globals__",
        "Delay",
        "reindex",
    ],
)
def test_post_task_unregistered_name_answers_422_and_queues_nothing(memory_api, memory_runtime, token, name) -> None:
    answer = memory_api.post(f"{V1}/tasks", token=token, json_body={"name": name, "params": {}})
    assert answer.status == 422, answer.text
    assert answer.fields() == ["body.task"]
    assert f"unknown task {name!r}" in answer.json["errors"][0]["message"]
    assert nothing_queued(memory_runtime)


@pytest.mark.parametrize(
    "method",
    ["os.system", "__import__", "builtins.eval", "diagnostics.__class__", "diagnostics", "jobline.domains.tasks.echo"],
)
def test_post_custom_async_task_unregistered_method_answers_422_and_queues_nothing(
    memory_api, memory_runtime, token, method
) -> None:
    body = {"name": "customAsyncTask", "params": {"method": method, "args": {"command": "rm -rf /"}}}
    answer = memory_api.post(f"{V1}/tasks", token=token, json_body=body)
    assert answer.status == 422, answer.text
    assert answer.fields() == ["body.params.method"]
    assert nothing_queued(memory_runtime)


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("delay", {"ms": 60_001}, "body.params.ms"),
        ("delay", {}, "body.params.ms"),
        ("calculateSum", {"numbers": []}, "body.params.numbers"),
        ("calculateSum", {"numbers": [1, "2"]}, "body.params.numbers"),
        ("calculateSum", {"numbers": [1], "bogus": True}, "body.params.bogus"),
        ("processData", {"items": [1, "a"], "transform": "double"}, "body.params.items"),
        ("processData", {"items": ["a"], "transform": "eval"}, "body.params.transform"),
        ("processData", {"items": [[1, 2]]}, "body.params.items"),
        ("sendNotification", {"channel": "fax", "recipients": ["+14155550100"]}, "body.params.channel"),
        (
            "sendNotification",
            {"channel": "email", "recipients": ["nope"], "subject": "s", "text": "t"},
            "body.params.recipients",
        ),
        ("cleanupOldData", {"queue": "no-such-queue", "olderThanDays": 1}, "body.params.queue"),
        ("cleanupOldData", {"queue": "email", "olderThanDays": -1}, "body.params.olderThanDays"),
        ("generateReport", {"queues": ["email", "nope"]}, "body.params.queues"),
        ("customAsyncTask", {"method": "diagnostics.echo", "args": {}}, "body.params.args.message"),
        ("customAsyncTask", {"method": "diagnostics.ping", "args": {"x": 1}}, "body.params.args"),
    ],
)
def test_post_task_params_not_fitting_the_task_answer_422_naming_the_field(
    memory_api, memory_runtime, token, admin_token, name, params, field
) -> None:
    token = admin_token if name == "cleanupOldData" else token
    answer = memory_api.post(f"{V1}/tasks", token=token, json_body={"name": name, "params": params})
    assert answer.status == 422, answer.text
    # A list item is named with its index (body.params.numbers.1): the field is the prefix.
    assert any(f == field or f.startswith(f"{field}.") for f in answer.fields()), answer.fields()
    assert nothing_queued(memory_runtime)


def test_post_admin_only_task_without_the_admin_role_is_403(memory_api, memory_runtime, token) -> None:
    body = {"name": "cleanupOldData", "params": {"queue": "email", "olderThanDays": 1}}
    answer = memory_api.post(f"{V1}/tasks", token=token, json_body=body)
    assert answer.status == 403, answer.text
    assert nothing_queued(memory_runtime)
