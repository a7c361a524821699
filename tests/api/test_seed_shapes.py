"""The seeds' shared shapes: BullMQ's queue.add over HTTP, the unversioned /api/jobs paths, status and stats
fields every seed reads, subAccountId never trusted, and the sync fallback when the queue cannot take a job."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from pydantic import BaseModel, ConfigDict

from jobline.core.registry import JobType
from jobline.core.states import JobState
from jobline.store.redis import RedisJobStore
from jobline_dev.support import make_runtime, receive, swapped_job_types
from tests.api.helpers import Client, add_job, make_token

V1 = "/api/v1"
EMAIL = {"to": "ann@example.com", "subject": "hello"}


class EmailPayload(BaseModel):
    model_config = ConfigDict(extra="allow")

    to: str
    subject: str


def _sent(payload: EmailPayload, ctx: Any) -> dict[str, Any]:
    ctx.progress(50, log="rendering")
    return {"sent": True, "to": payload.to, "tenant": ctx.tenant_id}


@pytest.fixture
def mail_job_types() -> Iterator[None]:
    """A send-email job type on the email queue that answers what it sent."""
    with swapped_job_types(
        {("email", "send-email"): JobType(queue="email", name="send-email", payload_model=EmailPayload, run=_sent)}
    ):
        yield


def test_queue_add_takes_bullmq_name_data_and_opts(memory_api, memory_runtime, mail_job_types, user_a) -> None:
    body = {"name": "send-email", "data": EMAIL, "opts": {"priority": 1, "jobId": "welcome-ann"}}
    answer = memory_api.post(f"{V1}/queues/email/jobs", token=user_a, json_body=body)
    assert answer.status == 201, answer.text
    assert (answer.data["queue"], answer.data["name"], answer.data["state"]) == ("email", "send-email", "waiting")
    stored = memory_runtime.store.get(answer.data["jobId"])
    assert (stored.tenant_id, stored.data, stored.priority) == ("tenant-a", EMAIL, 1)
    assert receive(memory_runtime, "email-priority"), "priority 1 rides the email queue's priority lane"
    same = memory_api.post(
        f"{V1}/queues/email/jobs",
        token=user_a,
        json_body={"name": "send-email", "data": EMAIL, "options": body["opts"]},
    )
    assert (same.status, same.data["jobId"]) == (200, answer.data["jobId"]), "`options` is read like `opts`"


@pytest.mark.parametrize(
    ("queue", "body", "status", "field"),
    [
        ("email", {"name": "no-such-job", "data": EMAIL}, 422, "body.name"),
        ("email", {"name": "send-email", "data": {"subject": "no to"}}, 422, "body.data.to"),
        ("email", {"name": "send-email", "data": EMAIL, "opts": {"attempts": 0}}, 422, "body.opts.attempts"),
        ("room-generation", {"name": "generate-rooms", "data": {}}, 422, "path.queueName"),
        ("bulk-upload-policies", {"name": "upload", "data": {}}, 422, "path.queueName"),
        ("no-such-queue", {"name": "x", "data": {}}, 404, "queue"),
    ],
)
def test_queue_add_refuses_with_the_field_at_fault(
    memory_api, memory_runtime, mail_job_types, user_a, queue: str, body: dict[str, Any], status: int, field: str
) -> None:
    answer = memory_api.post(f"{V1}/queues/{queue}/jobs", token=user_a, json_body=body)
    assert answer.status == status, answer.text
    assert field in answer.fields(), answer.text
    assert receive(memory_runtime, "email") == []


@pytest.mark.parametrize("queue", ["webhooks", "waitlist-cascade", "waitlist-notifications", "waitlist-cleanup"])
def test_queue_add_refuses_internal_queues_even_to_admins(memory_api, memory_runtime, admin_a, queue: str) -> None:
    body = {"name": "deliver", "data": {"url": "https://attacker.example/hook", "event": "job.completed"}}
    answer = memory_api.post(f"{V1}/queues/{queue}/jobs", token=admin_a, json_body=body)
    assert answer.status == 403, answer.text
    assert "internal" in answer.json["message"]
    assert memory_runtime.store.counts(queue)[JobState.WAITING] == 0


def test_unversioned_status_and_stats_carry_the_seed_fields(memory_api, memory_runtime, mail_job_types, user_a) -> None:
    created = memory_api.post("/api/jobs/email", token=user_a, json_body=EMAIL)
    assert created.status == 201, created.text
    job_id = created.data["jobId"]
    # Seed 001's controllers answered `{success, message, jobId, checkStatusAt}`.
    assert (created.json["jobId"], created.json["checkStatusAt"]) == (job_id, f"/api/jobs/email/{job_id}/status")
    status = memory_api.get(created.json["checkStatusAt"], token=user_a)
    assert status.status == 200, status.text
    data = status.data
    assert {"jobId", "id", "status", "result", "createdAt", "completedAt", "progress", "data", "queueName"} <= set(data)
    assert (data["jobId"], data["id"], data["status"], data["queueName"]) == (job_id, job_id, "waiting", "email")
    assert data["completedAt"] is None
    # bee-queue's getJobStatus and getQueueStats fields, at the top of the answer as its clients read them.
    top = status.json
    assert (top["jobId"], top["status"], top["result"], top["completedAt"]) == (job_id, "waiting", None, None)
    assert top["createdAt"] == data["createdAt"]
    stats_answer = memory_api.get("/api/jobs/email/stats", token=user_a).json
    for stats in (stats_answer, stats_answer["data"]):
        assert {"waiting", "active", "succeeded", "failed", "delayed"} <= set(stats)
        assert (stats["waiting"], stats["succeeded"]) == (1, stats["completed"])


def test_status_route_serves_every_queue_of_the_caller(memory_api, memory_runtime, user_a, user_b) -> None:
    throwaway = JobType(queue="bulk-upload-mechanics", name="any", payload_model=None, run=_sent)
    with swapped_job_types({("bulk-upload-mechanics", "any"): throwaway}):
        job = add_job(memory_runtime, queue="bulk-upload-mechanics", name="any", tenant="tenant-a", user="alice")
    path = f"{V1}/jobs/bulk-upload-mechanics/{job.id}/status"
    answer = memory_api.get(path, token=user_a)
    assert (answer.status, answer.data["queueName"], answer.data["jobId"]) == (200, "bulk-upload-mechanics", job.id)
    assert memory_api.get(path, token=user_b).status == 404, "another tenant's job is invisible"
    assert memory_api.get(f"{V1}/jobs/email/{job.id}/status", token=user_a).status == 404, "the queue must match"


@pytest.mark.parametrize("path", ["/api/jobs/email", f"{V1}/jobs/email", f"{V1}/queues/email/jobs"])
def test_sub_account_of_another_tenant_is_refused(memory_api, memory_runtime, mail_job_types, user_a, path) -> None:
    data = {**EMAIL, "subAccountId": "tenant-b"}
    body = {"name": "send-email", "data": data} if path.startswith(f"{V1}/queues") else data
    answer = memory_api.post(path, token=user_a, json_body=body)
    assert answer.status == 403, answer.text
    assert "body.subAccountId" in answer.fields()
    assert memory_runtime.store.counts("email")[JobState.WAITING] == 0
    own = {**EMAIL, "subAccountId": "tenant-a"}
    ok = memory_api.post(path, token=user_a, json_body={"name": "send-email", "data": own} if "queues" in path else own)
    assert ok.status == 201, ok.text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture
def store_down_api(aws) -> Client:
    """The API on moto with a Redis job store that nothing answers."""
    from jobline.api.app import create_app

    client = redis.Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.2)
    runtime = make_runtime(RedisJobStore(client, prefix="down:"))
    return Client(create_app(lambda: runtime).resolve)


@pytest.mark.parametrize("path", ["/api/jobs/email", f"{V1}/queues/email/jobs"])
def test_email_runs_in_the_request_when_the_job_store_is_down(store_down_api, mail_job_types, user_a, path) -> None:
    body = {"name": "send-email", "data": EMAIL} if "queues" in path else EMAIL
    answer = store_down_api.post(path, token=user_a, json_body=body)
    assert answer.status == 200, answer.text
    assert answer.json["sync"] is True and answer.data["sync"] is True
    assert "ran in the request" in answer.json["message"]
    data = answer.data
    assert (data["status"], data["progress"]) == ("completed", 100)
    assert data["result"] == {"sent": True, "to": "ann@example.com", "tenant": "tenant-a"}
    assert data["logs"] == ["rendering"]


def test_delayed_email_is_not_run_early_when_the_job_store_is_down(store_down_api, mail_job_types, user_a) -> None:
    answer = store_down_api.post("/api/jobs/email", token=user_a, json_body={**EMAIL, "options": {"delay": 3_600_000}})
    assert answer.status == 503, answer.text


def test_sms_has_no_sync_fallback_and_answers_503(store_down_api) -> None:
    sender = make_token(tenant="tenant-a", user="alice", roles=["sender"])  # an SMS's own text needs the role
    answer = store_down_api.post(
        "/api/jobs/sms", token=sender, json_body={"phoneNumbers": ["+15550100"], "message": "x"}
    )
    assert answer.status == 503, answer.text


def test_repeat_add_answers_its_schedule_as_repeat_job_key(memory_api, memory_runtime, mail_job_types, user_a) -> None:
    body = {"name": "send-email", "data": EMAIL, "opts": {"repeat": {"pattern": "0 0 * * *"}}}
    answer = memory_api.post(f"{V1}/queues/email/jobs", token=user_a, json_body=body)
    assert answer.status == 202, answer.text
    key = answer.data["repeatJobKey"]
    assert key and answer.data["state"] == "delayed"
    [schedule] = memory_runtime.store.list_schedules()
    assert schedule.id == key
    status = memory_api.get(answer.json["checkStatusAt"], token=user_a).data
    assert status["opts"]["repeatJobKey"] == key
    assert memory_api.post(f"{V1}/queues/email/jobs", token=user_a, json_body=body).data["repeatJobKey"] == key


@pytest.mark.parametrize("queue", ["webhooks", "waitlist-cascade", "waitlist-expired-holds"])
def test_repeatable_schedule_on_an_internal_queue_is_refused(memory_api, memory_runtime, admin_a, queue: str) -> None:
    # A tenant admin's recurring job on `webhooks` would have Jobline sign a callback naming any tenant.
    body = {"name": "deliver", "data": {"url": "https://attacker.example/hook"}, "every": 60_000}
    answer = memory_api.post(f"{V1}/admin/jobs/{queue}/repeatable", token=admin_a, json_body=body)
    assert answer.status == 403, answer.text
    assert "internal" in answer.json["message"]
    assert memory_runtime.store.list_schedules() == []
