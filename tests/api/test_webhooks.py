"""No route lets a caller put a job on an internal queue (a forged signed callback), and a tenant
admin reads its own tenant's webhook signing key, never another's."""

from __future__ import annotations

import boto3
import pytest

from jobline.api.tasks import TASK_QUEUE
from jobline.core.queues import QUEUES
from jobline.core.states import JobState
from jobline.engine import callbacks
from jobline.engine.enqueue import enqueue
from jobline.engine.worker import Worker
from jobline_dev.support import deliver
from tests.api.helpers import make_token

V1 = "/api/v1"
INTERNAL = ["webhooks", "waitlist-cascade", "waitlist-expired-holds", "waitlist-notifications", "waitlist-cleanup"]
FORGED = {"url": "https://attacker.example/hook", "event": "job.completed", "payload": {"tenantId": "tenant-b"}}
MASTER = "webhook-master-secret-for-api-tests"
PARAMETER = "/jobline/test/api-webhook-secret"
KEY_PATH = f"{V1}/webhooks/signing-key"


def nothing_queued(runtime, queue: str) -> bool:
    counts = runtime.store.counts(queue)
    return counts[JobState.WAITING] == 0 and counts[JobState.DELAYED] == 0 and runtime.store.list_schedules() == []


@pytest.mark.parametrize("prefix", [V1, "/api"])
@pytest.mark.parametrize("queue", INTERNAL)
def test_generic_job_route_refuses_an_internal_queue_with_403(
    memory_api, memory_runtime, admin_a, prefix: str, queue: str
) -> None:
    answer = memory_api.post(f"{prefix}/jobs/{queue}", token=admin_a, json_body=FORGED)
    assert answer.status == 403, answer.text
    assert "internal" in answer.json["message"]
    assert nothing_queued(memory_runtime, queue)


@pytest.mark.parametrize("queue", INTERNAL)
def test_queue_add_with_repeat_refuses_an_internal_queue(memory_api, memory_runtime, admin_a, queue: str) -> None:
    # A recurring add is a schedule: it must not slip past the check the plain add gets.
    body = {"name": "deliver-callback", "data": FORGED, "opts": {"repeat": {"every": 60_000}}}
    answer = memory_api.post(f"{V1}/queues/{queue}/jobs", token=admin_a, json_body=body)
    assert answer.status == 403, answer.text
    assert nothing_queued(memory_runtime, queue)


@pytest.fixture
def internal_task_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generic-task queue made internal, to prove the task routes ask the shared check."""
    monkeypatch.setitem(QUEUES, TASK_QUEUE, QUEUES[TASK_QUEUE].model_copy(update={"internal": True}))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tasks", {"name": "processData", "params": {}}),
        ("/tasks/execute", {"functionName": "processData", "params": []}),
        ("/tasks/service-method", {"serviceName": "LeadsService", "methodName": "exportLeads", "params": []}),
        ("/jobs/generic-task", {"task": "processData", "params": {}}),
    ],
)
def test_task_routes_refuse_their_queue_when_it_is_internal(
    memory_api, memory_runtime, admin_a, internal_task_queue, path: str, body: dict
) -> None:
    answer = memory_api.post(f"{V1}{path}", token=admin_a, json_body=body)
    assert answer.status == 403, answer.text
    assert "internal" in answer.json["message"]
    assert nothing_queued(memory_runtime, TASK_QUEUE)


def test_expired_holds_trigger_of_a_tenant_admin_is_scoped_to_its_tenant(
    memory_api, memory_runtime, job_types, admin_a, operator
) -> None:
    # Without tenantId the job releases every tenant's holds: a tenant's admin acts on its own only.
    mine = memory_api.post(f"{V1}/jobs/expired-holds/trigger", token=admin_a)
    assert mine.status == 201, mine.text
    assert memory_runtime.store.get(mine.data["jobId"]).data == {"tenantId": "tenant-a"}
    # An operator acts on every tenant, as the schedule does.
    everyone = memory_api.post(f"{V1}/jobs/expired-holds/trigger", token=operator)
    assert everyone.status == 201, everyone.text
    assert memory_runtime.store.get(everyone.data["jobId"]).data == {}


def test_admin_retry_of_a_failed_callback_redelivers_the_same_jobline_made_job(
    memory_runtime, memory_api, admin_a, admin_b
) -> None:
    # Retry names an existing job, whose url and body Jobline wrote: nothing of the caller's is signed,
    # and the delivery keeps its webhook id, so a receiver that saw it drops it. Another tenant's: 404.
    job = enqueue(memory_runtime, queue=callbacks.QUEUE, name=callbacks.JOB_NAME, data=FORGED, tenant_id="tenant-a").job
    callbacks.forget_master_secret()
    memory_runtime.settings = memory_runtime.settings.model_copy(update={"jobline_webhook_secret_parameter": ""})
    deliver(memory_runtime, Worker(memory_runtime), callbacks.QUEUE)  # no master secret: fails at once
    assert memory_runtime.store.get(job.id).state is JobState.FAILED
    assert memory_api.post(f"{V1}/admin/jobs/webhooks/{job.id}/retry", token=admin_b).status == 404
    answer = memory_api.post(f"{V1}/admin/jobs/webhooks/{job.id}/retry", token=admin_a)
    assert answer.status == 200, answer.text
    assert memory_runtime.store.get(job.id).data == job.data


@pytest.fixture
def signing(memory_runtime) -> None:
    callbacks.forget_master_secret()
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=MASTER, Type="SecureString", Overwrite=True)
    memory_runtime.settings = memory_runtime.settings.model_copy(update={"jobline_webhook_secret_parameter": PARAMETER})


def test_a_tenant_admin_reads_its_own_signing_key(memory_api, signing, admin_a, admin_b) -> None:
    answer = memory_api.get(KEY_PATH, token=admin_a)
    assert answer.status == 200, answer.text
    assert answer.data["tenantId"] == "tenant-a"
    assert answer.data["signingKey"] == callbacks.signing_key(MASTER, "tenant-a")
    assert answer.data["webhookIdHeader"] == callbacks.WEBHOOK_ID_HEADER
    assert answer.headers.get("Cache-Control") == "no-store"
    other = memory_api.get(KEY_PATH, token=admin_b).data["signingKey"]
    assert other == callbacks.signing_key(MASTER, "tenant-b") != answer.data["signingKey"]


def test_the_signing_key_route_never_answers_another_tenants_key(memory_api, signing, admin_a) -> None:
    answer = memory_api.get(KEY_PATH, token=admin_a, query={"tenantId": "tenant-b"})
    assert answer.status in (200, 422), answer.text
    if answer.status == 200:
        assert answer.data["signingKey"] == callbacks.signing_key(MASTER, "tenant-a")


def test_the_signing_key_needs_the_admin_role(memory_api, signing, user_a) -> None:
    answer = memory_api.get(KEY_PATH, token=user_a)
    assert answer.status == 403, answer.text
    assert "signingKey" not in answer.text


def test_the_signing_key_without_a_master_secret_is_503(memory_api, memory_runtime, admin_a) -> None:
    callbacks.forget_master_secret()
    memory_runtime.settings = memory_runtime.settings.model_copy(update={"jobline_webhook_secret_parameter": ""})
    answer = memory_api.get(KEY_PATH, token=admin_a)
    assert answer.status == 503, answer.text
    operator_view = make_token(tenant="platform", user="otto", roles=["operator"])
    assert memory_api.get(KEY_PATH, token=operator_view).status == 503
