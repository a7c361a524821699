"""Waitlist job management routes: status, pause/resume, clear failed, triggers, one job, retry."""

from __future__ import annotations

import uuid

import pytest

from jobline.core.states import JobState
from jobline.domains.waitlist.queues import WAITLIST_QUEUES
from jobline.domains.waitlist.triggers import TRIGGERS
from jobline_dev.support import receive
from tests.api.helpers import add_job, move_to

JOBS = "/api/v1/jobs"
TRIGGER_PATHS = {
    "expired-holds": f"{JOBS}/expired-holds/trigger",
    "cascade": f"{JOBS}/cascade/trigger",
    "notifications": f"{JOBS}/notifications/retry",
    "cleanup": f"{JOBS}/cleanup/trigger",
}


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_trigger_enqueues_its_job_on_its_queue(memory_api, memory_runtime, job_types, admin_a, trigger: str) -> None:
    queue, name = TRIGGERS[trigger]
    answer = memory_api.post(TRIGGER_PATHS[trigger], token=admin_a)
    assert answer.status == 201, answer.text
    assert (answer.data["queue"], answer.data["name"], answer.data["state"]) == (queue, name, "waiting")
    assert memory_runtime.store.get(answer.data["jobId"]).tenant_id == "tenant-a"
    assert len(receive(memory_runtime, queue)) == 1


def test_trigger_with_payload_and_delay_in_ms_answers_202(memory_api, memory_runtime, job_types, admin_a) -> None:
    body = {"tenantId": "tenant-a", "options": {"delay": 120_000}}
    answer = memory_api.post(TRIGGER_PATHS["expired-holds"], token=admin_a, json_body=body)
    assert (answer.status, answer.data["state"]) == (202, "delayed")
    job = memory_runtime.store.get(answer.data["jobId"])
    assert job.data == {"tenantId": "tenant-a"}
    assert (job.run_at - job.created_at).total_seconds() == 120


@pytest.mark.parametrize(
    ("trigger", "body", "field"),
    [
        ("expired-holds", {"holdIds": ["h1"]}, "body.holdIds"),
        ("expired-holds", {"tenantId": "tenant-b"}, "body.tenantId"),
        ("cascade", {"slotId": "slot-1"}, "body.slotId"),
        ("cascade", {"previousEntryId": "3b7c7f1e-53a4-4b3e-9d0c-7a1d2b3c4d5e", "reason": "declined"}, "body.slotId"),
        ("cascade", {"reason": "cancelled"}, "body.reason"),
        ("notifications", {"notificationId": 12}, "body.notificationId"),
        ("cleanup", {"retentionDays": 0}, "body.retentionDays"),
    ],
)
def test_trigger_with_bad_data_answers_422_naming_the_field_and_queues_nothing(
    memory_api, memory_runtime, admin_a, trigger, body, field
) -> None:
    import jobline.domains.waitlist.jobs  # noqa: F401 - the real payload models check the data

    answer = memory_api.post(TRIGGER_PATHS[trigger], token=admin_a, json_body=body)
    assert answer.status == 422, answer.text
    assert answer.fields() == [field]
    assert receive(memory_runtime, TRIGGERS[trigger][0]) == []


# Seed 003's paths, as its clients call them: /api/jobs/..., beside /api/v1/jobs/...
SEED_PATHS = {
    ("get", "/api/jobs/status"),
    ("post", "/api/jobs/pause"),
    ("post", "/api/jobs/resume"),
    ("post", "/api/jobs/failed/clear"),
    ("post", "/api/jobs/expired-holds/trigger"),
    ("post", "/api/jobs/cascade/trigger"),
    ("post", "/api/jobs/notifications/retry"),
    ("post", "/api/jobs/cleanup/trigger"),
    ("get", "/api/jobs/{queueName}/{jobId}"),
    ("post", "/api/jobs/{queueName}/{jobId}/retry"),
}


def test_seed_paths_are_routes_of_the_openapi_document(memory_api) -> None:
    document = memory_api.get("/api/v1/openapi.json").json
    routes = {(method, path) for path, item in document["paths"].items() for method in item}
    assert routes >= SEED_PATHS
    body = document["components"]["schemas"]["CascadeTrigger"]["properties"]
    assert {"slotId", "previousEntryId", "reason", "options"} <= set(body)
    assert body["reason"]["anyOf"][0]["enum"] == ["declined", "expired"]


def test_seed_paths_answer_as_the_v1_paths(memory_api, memory_runtime, job_types, user_a, admin_a) -> None:
    job = move_to(memory_runtime, add_job(memory_runtime, queue="waitlist-cascade", name="cascade"), JobState.FAILED)
    assert memory_api.get("/api/jobs/status", token=user_a).data == memory_api.get(f"{JOBS}/status", token=user_a).data
    # A cascade is the platform's job (no user added it): its tenant's admins read it.
    seen = memory_api.get(f"/api/jobs/waitlist-cascade/{job.id}", token=admin_a)
    assert (seen.status, seen.data["jobId"], seen.data["status"], seen.data["queueName"]) == (
        200,
        job.id,
        "failed",
        "waitlist-cascade",
    )
    retried = memory_api.post(f"/api/jobs/waitlist-cascade/{job.id}/retry", token=admin_a)
    assert (retried.status, retried.data["state"]) == (200, "waiting")
    assert memory_api.post("/api/jobs/cascade/trigger", token=admin_a).status == 201
    assert memory_api.get("/api/jobs/status").status == 401  # a bearer token is needed here too


def test_seed_get_job_of_another_tenant_answers_404(memory_api, memory_runtime, job_types, user_b) -> None:
    job = add_job(memory_runtime, queue="waitlist-cascade", name="cascade")
    assert memory_api.get(f"/api/jobs/waitlist-cascade/{job.id}", token=user_b).status == 404


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_trigger_before_job_type_is_registered_answers_422_unknown_job_type(
    memory_api, no_job_types, admin_a, trigger
) -> None:
    answer = memory_api.post(TRIGGER_PATHS[trigger], token=admin_a)
    assert answer.status == 422
    assert answer.fields() == ["name"]


def test_trigger_by_non_admin_answers_403(memory_api, job_types, user_a) -> None:
    assert memory_api.post(TRIGGER_PATHS["cascade"], token=user_a).status == 403


def test_waitlist_status_counts_the_four_queues_for_callers_tenant(
    memory_api, memory_runtime, job_types, user_a
) -> None:
    add_job(memory_runtime, queue="waitlist-cascade", name="cascade")
    add_job(memory_runtime, queue="waitlist-cascade", name="cascade", tenant="tenant-b")
    answer = memory_api.get(f"{JOBS}/status", token=user_a)
    assert answer.status == 200
    by_queue = {entry["queue"]: entry for entry in answer.data}
    assert list(by_queue) == list(WAITLIST_QUEUES)
    assert by_queue["waitlist-cascade"]["waiting"] == 1


def test_waitlist_pause_and_resume_flip_all_four_queues(memory_api, memory_runtime, operator) -> None:
    answer = memory_api.post(f"{JOBS}/pause", token=operator)
    assert (answer.status, answer.data) == (200, {"queues": list(WAITLIST_QUEUES), "paused": True})
    assert memory_runtime.store.paused_queues() == set(WAITLIST_QUEUES)
    assert memory_api.post(f"{JOBS}/resume", token=operator).data["paused"] is False
    assert memory_runtime.store.paused_queues() == set()


def test_waitlist_clear_failed_by_admin_removes_own_tenants_failed_jobs(api, runtime, job_types, admin_a) -> None:
    mine = [move_to(runtime, add_job(runtime, queue=q, name=n), JobState.FAILED) for q, n in TRIGGERS.values()]
    theirs = move_to(
        runtime, add_job(runtime, queue="waitlist-cascade", name="cascade", tenant="tenant-b"), JobState.FAILED
    )
    answer = api.post(f"{JOBS}/failed/clear", token=admin_a)
    assert answer.status == 200
    assert answer.data["removed"] == 4
    assert answer.data["byQueue"] == dict.fromkeys(WAITLIST_QUEUES, 1)
    assert all(runtime.store.get(job.id) is None for job in mine)
    assert runtime.store.get(theirs.id) is not None


def test_waitlist_clear_failed_by_operator_removes_every_tenants(
    memory_api, memory_runtime, job_types, operator
) -> None:
    for tenant in ("tenant-a", "tenant-b"):
        move_to(
            memory_runtime,
            add_job(memory_runtime, queue="waitlist-cleanup", name="nightly-cleanup", tenant=tenant),
            JobState.FAILED,
        )
    assert memory_api.post(f"{JOBS}/failed/clear", token=operator).data["removed"] == 2


def test_waitlist_get_job_answers_job_view(memory_api, memory_runtime, job_types, user_a) -> None:
    job = add_job(memory_runtime, queue="waitlist-notifications", name="retry-notifications", user="alice")
    answer = memory_api.get(f"{JOBS}/waitlist-notifications/{job.id}", token=user_a)
    assert (answer.status, answer.data["jobId"], answer.data["name"]) == (200, job.id, "retry-notifications")


def test_waitlist_get_job_unknown_queue_answers_404_naming_queue(memory_api, user_a) -> None:
    answer = memory_api.get(f"{JOBS}/no-such-queue/{uuid.uuid4()}", token=user_a)
    assert answer.status == 404
    assert answer.fields() == ["queue"]


def test_waitlist_retry_failed_job_requeues_it(memory_api, memory_runtime, job_types, admin_a) -> None:
    job = move_to(memory_runtime, add_job(memory_runtime, queue="waitlist-cascade", name="cascade"), JobState.FAILED)
    answer = memory_api.post(f"{JOBS}/waitlist-cascade/{job.id}/retry", token=admin_a)
    assert (answer.status, answer.data["state"]) == (200, "waiting")


def test_waitlist_retry_by_non_admin_answers_403(memory_api, memory_runtime, job_types, user_a) -> None:
    job = move_to(memory_runtime, add_job(memory_runtime, queue="waitlist-cascade", name="cascade"), JobState.FAILED)
    assert memory_api.post(f"{JOBS}/waitlist-cascade/{job.id}/retry", token=user_a).status == 403


def test_waitlist_retry_waiting_job_answers_409(memory_api, memory_runtime, job_types, admin_a) -> None:
    job = add_job(memory_runtime, queue="waitlist-cascade", name="cascade")
    assert memory_api.post(f"{JOBS}/waitlist-cascade/{job.id}/retry", token=admin_a).status == 409


def test_waitlist_pause_by_tenant_admin_pauses_only_its_tenants_jobs(
    memory_api, memory_runtime, admin_a, admin_b, user_a
) -> None:
    answer = memory_api.post("/api/jobs/pause", token=admin_a)
    assert (answer.status, answer.data["paused"]) == (200, True)
    assert memory_runtime.store.paused_queues() == set()  # the queues themselves still run
    assert all(memory_runtime.store.is_paused(queue, tenant_id="tenant-a") for queue in WAITLIST_QUEUES)
    assert not any(memory_runtime.store.is_paused(queue, tenant_id="tenant-b") for queue in WAITLIST_QUEUES)
    assert all(entry["paused"] for entry in memory_api.get("/api/jobs/status", token=user_a).data)
    assert not any(entry["paused"] for entry in memory_api.get("/api/jobs/status", token=admin_b).data)
    memory_api.post("/api/jobs/resume", token=admin_a)
    assert not any(memory_runtime.store.is_paused(queue, tenant_id="tenant-a") for queue in WAITLIST_QUEUES)


def test_waitlist_pause_by_user_without_admin_role_answers_403(memory_api, memory_runtime, user_a) -> None:
    assert memory_api.post("/api/jobs/pause", token=user_a).status == 403
    assert not any(memory_runtime.store.is_paused(queue, tenant_id="tenant-a") for queue in WAITLIST_QUEUES)
