"""Generic job routes: POST /jobs/{type}, POST /tasks, status and stats, and /jobs route order."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from jobline.api.jobs import JOB_NAMES
from jobline.core.queues import get_queue
from jobline.core.states import JobState
from jobline_dev.support import receive
from tests.api.helpers import add_job

V1 = "/api/v1"
EMAIL = {"to": "ann@example.com", "subject": "hello"}
JOB_VIEW_KEYS = {
    "id", "jobId", "queue", "queueName", "name", "status", "state", "completedAt", "failedAt", "progress",
    "attemptsMade", "maxAttempts", "data", "result", "failedReason", "stacktrace", "logs", "priority",
    "createdAt", "scheduledAt", "startedAt", "finishedAt", "delay", "opts",
}  # fmt: skip


@pytest.mark.parametrize("job_type", list(JOB_NAMES))
def test_post_job_each_type_answers_201_and_queues_message(
    memory_api, memory_runtime, job_types, user_a, job_type: str
) -> None:
    payload = EMAIL if job_type == "email" else {"anything": [1, 2]}
    answer = memory_api.post(f"{V1}/jobs/{job_type}", token=user_a, json_body=payload)
    assert answer.status == 201, answer.text
    assert answer.json["success"] is True
    data = answer.data
    assert data == {
        "jobId": data["jobId"],
        "queue": job_type,
        "name": JOB_NAMES[job_type],
        "state": "waiting",
        "created": True,
        "repeatJobKey": None,
    }
    stored = memory_runtime.store.get(data["jobId"])
    assert (stored.tenant_id, stored.user_id, stored.data) == ("tenant-a", "alice", payload)
    # A queue's default priority may put the job on its priority lane (email's is 3).
    [message] = receive(memory_runtime, get_queue(job_type).lane_for(stored.priority))
    assert json.loads(message["Body"])["job_id"] == data["jobId"]


def test_post_job_with_delay_answers_202_delayed(memory_api, memory_runtime, job_types, user_a) -> None:
    answer = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body={**EMAIL, "options": {"delay": 3_600_000}})
    assert answer.status == 202
    assert answer.data["state"] == "delayed"
    status = memory_api.get(f"{V1}/jobs/email/{answer.data['jobId']}/status", token=user_a).data
    assert status["delay"] == 3_600_000
    assert status["scheduledAt"] is not None


def test_post_job_with_run_at_in_future_answers_202(memory_api, job_types, user_a) -> None:
    run_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    answer = memory_api.post(f"{V1}/jobs/sms", token=user_a, json_body={"to": "+100", "options": {"runAt": run_at}})
    assert answer.status == 202
    assert answer.data["state"] == "delayed"


def test_post_job_same_job_id_twice_returns_existing_job_with_200(memory_api, job_types, user_a) -> None:
    body = {**EMAIL, "options": {"jobId": "welcome-ann", "attempts": 2, "priority": 5}}
    first = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body=body)
    second = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body=body)
    assert (first.status, second.status) == (201, 200)
    assert second.data["jobId"] == first.data["jobId"]
    assert second.data["created"] is False
    view = memory_api.get(f"{V1}/jobs/email/{first.data['jobId']}/status", token=user_a).data
    assert (view["maxAttempts"], view["priority"]) == (2, 5)


def test_post_job_unregistered_job_type_answers_422_unknown_job_type(memory_api, no_job_types, user_a) -> None:
    answer = memory_api.post(f"{V1}/jobs/data-export", token=user_a, json_body={"table": "rooms"})
    assert answer.status == 422
    assert answer.fields() == ["name"]
    assert "export" in answer.json["message"]


def test_post_job_payload_rejected_by_job_type_answers_422_with_fields(memory_api, job_types, user_a) -> None:
    answer = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body={"to": 5, "cc": "x"})
    assert answer.status == 422
    assert sorted(answer.fields()) == ["body.cc", "body.subject", "body.to"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"delay": "soon"}, "body.options.delay"),
        ({"delay": -1}, "body.options.delay"),
        ({"attempts": 0}, "body.options.attempts"),
        ({"backoff": {"type": "linear"}}, "body.options.backoff.type"),
        ({"callbackUrl": "not a url"}, "body.options.callbackUrl"),
        ({"bogus": 1}, "body.options.bogus"),
        ("not-an-object", "body.options"),
    ],
)
def test_post_job_invalid_options_answer_422_naming_the_field(memory_api, job_types, user_a, options, field) -> None:
    answer = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body={**EMAIL, "options": options})
    assert answer.status == 422
    assert field in answer.fields()


def test_post_job_unknown_type_answers_404(memory_api, job_types, user_a) -> None:
    answer = memory_api.post(f"{V1}/jobs/room-generation", token=user_a, json_body={})
    assert answer.status == 404
    assert answer.fields() == ["queue"]


def test_post_job_when_sqs_refuses_answers_503_and_keeps_nothing(memory_api, memory_runtime, job_types, user_a) -> None:
    # sms has no sync fallback (email and exports run in the request instead: test_seed_shapes.py).
    sqs = memory_runtime.transport._sqs
    sqs.delete_queue(QueueUrl=memory_runtime.transport.queue_url("sms"))
    answer = memory_api.post(f"{V1}/jobs/sms", token=user_a, json_body={"to": "+100"})
    assert answer.status == 503
    assert memory_runtime.store.counts("sms")[JobState.WAITING] == 0


def test_post_task_enqueues_run_task_with_name_and_params(memory_api, memory_runtime, job_types, user_a) -> None:
    body = {"name": "reindex", "params": {"full": True}, "options": {"attempts": 1}}
    answer = memory_api.post(f"{V1}/tasks", token=user_a, json_body=body)
    assert answer.status == 201
    assert (answer.data["queue"], answer.data["name"]) == ("generic-task", "run-task")
    assert memory_runtime.store.get(answer.data["jobId"]).data == {"task": "reindex", "params": {"full": True}}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"params": {}}, "body.name"), ({"name": ""}, "body.name"), ({"name": "x", "extra": 1}, "body.extra"),
     ({"name": "x", "params": "all"}, "body.params")],
)  # fmt: skip
def test_post_task_invalid_body_answers_422_naming_the_field(memory_api, job_types, user_a, body, field) -> None:
    answer = memory_api.post(f"{V1}/tasks", token=user_a, json_body=body)
    assert answer.status == 422
    assert field in answer.fields()


def test_job_status_answers_bull_like_job_view(memory_api, job_types, user_a) -> None:
    job_id = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body=EMAIL).data["jobId"]
    answer = memory_api.get(f"{V1}/jobs/email/{job_id}/status", token=user_a)
    assert answer.status == 200
    view = answer.data
    assert set(view) == JOB_VIEW_KEYS
    assert (view["jobId"], view["state"], view["attemptsMade"], view["maxAttempts"]) == (job_id, "waiting", 0, 5)
    assert view["data"] == EMAIL
    assert dt.datetime.fromisoformat(view["createdAt"]).tzinfo is not None


def test_job_status_under_another_type_answers_404(memory_api, job_types, user_a) -> None:
    job_id = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body=EMAIL).data["jobId"]
    assert memory_api.get(f"{V1}/jobs/sms/{job_id}/status", token=user_a).status == 404


def test_job_status_unknown_id_answers_404(memory_api, user_a) -> None:
    answer = memory_api.get(f"{V1}/jobs/email/{uuid.uuid4()}/status", token=user_a)
    assert answer.status == 404
    assert answer.json["success"] is False


def test_job_status_id_not_a_uuid_answers_422_on_path_job_id(memory_api, user_a) -> None:
    answer = memory_api.get(f"{V1}/jobs/email/not-a-uuid/status", token=user_a)
    assert answer.status == 422
    assert answer.fields() == ["path.jobId"]


def test_job_stats_counts_only_callers_tenant(api, runtime, job_types, user_a, user_b, operator) -> None:
    add_job(runtime, queue="email", name="send-email", data=EMAIL, tenant="tenant-a")
    add_job(runtime, queue="email", name="send-email", data=EMAIL, tenant="tenant-a", delay=600_000)
    add_job(runtime, queue="email", name="send-email", data=EMAIL, tenant="tenant-b")
    mine = api.get(f"{V1}/jobs/email/stats", token=user_a).data
    assert (mine["waiting"], mine["delayed"], mine["total"], mine["sqs"]) == (1, 1, 2, None)
    theirs = api.get(f"{V1}/jobs/email/stats", token=user_b).data
    assert (theirs["waiting"], theirs["total"]) == (1, 1)
    everyone = api.get(f"{V1}/jobs/email/stats", token=operator).data
    assert everyone["total"] == 3
    assert everyone["sqs"]["visible"] >= 2


def test_job_stats_unknown_type_answers_404(memory_api, user_a) -> None:
    assert memory_api.get(f"{V1}/jobs/nope/stats", token=user_a).status == 404


def test_jobs_routes_with_overlapping_shapes_reach_their_own_handlers(memory_api, job_types, user_a, operator) -> None:
    job_id = memory_api.post(f"{V1}/jobs/email", token=user_a, json_body=EMAIL).data["jobId"]
    # /jobs/{type}/stats, not /jobs/{queueName}/{jobId} with jobId "stats"
    assert memory_api.get(f"{V1}/jobs/email/stats", token=user_a).json["message"] == "queue stats"
    # /jobs/{queueName}/{jobId}
    assert memory_api.get(f"{V1}/jobs/email/{job_id}", token=user_a).data["jobId"] == job_id
    # /jobs/{type}/{jobId}/status
    assert memory_api.get(f"{V1}/jobs/email/{job_id}/status", token=user_a).json["message"] == "job status"
    # /jobs/status, not a job type called "status"
    assert memory_api.get(f"{V1}/jobs/status", token=user_a).json["message"] == "waitlist queue stats"
    # /jobs/pause and /jobs/resume, not POST /jobs/{type}
    assert memory_api.post(f"{V1}/jobs/pause", token=operator).json["message"] == "waitlist queues paused"
    assert memory_api.post(f"{V1}/jobs/resume", token=operator).json["message"] == "waitlist queues resumed"
    # /jobs/failed/clear is a static route, not /jobs/{queueName}/{jobId}
    assert memory_api.post(f"{V1}/jobs/failed/clear", token=operator).json["message"] == "failed jobs cleared"
