"""Waitlist job management routes: status, pause/resume, clear failed, triggers, one job, retry."""

from __future__ import annotations

import uuid

import pytest

from jobline.api.waitlist_jobs import TRIGGERS, WAITLIST_QUEUES
from jobline.states import JobState
from tests.api.helpers import add_job, move_to
from tests.support import receive

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


def test_trigger_with_payload_and_delay_answers_202(memory_api, memory_runtime, job_types, admin_a) -> None:
    body = {"holdIds": ["h1"], "options": {"delay": 120_000}}
    answer = memory_api.post(TRIGGER_PATHS["expired-holds"], token=admin_a, json_body=body)
    assert (answer.status, answer.data["state"]) == (202, "delayed")
    assert memory_runtime.store.get(answer.data["jobId"]).data == {"holdIds": ["h1"]}


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
    job = add_job(memory_runtime, queue="waitlist-notifications", name="retry-notifications")
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
