"""Admin job routes: stats, listing, one job, retry, promote, remove, pause/resume, clean, drain."""

from __future__ import annotations

import uuid

import pytest

from jobline.core.queues import QUEUES
from jobline.core.states import JobState
from jobline_dev.support import receive
from tests.api.helpers import add_job, move_to

ADMIN = "/api/v1/admin/jobs"
Q = "generic-task"


@pytest.fixture
def jobs(runtime, job_types):
    """Tenant A: 3 waiting, 1 delayed, 2 failed, 1 completed, 1 active; tenant B: 1 waiting, 1 failed."""
    made = {
        "waiting": [add_job(runtime, data={"n": n}) for n in range(3)],
        "delayed": [add_job(runtime, delay=3_600_000)],
        "failed": [move_to(runtime, add_job(runtime), JobState.FAILED) for _ in range(2)],
        "completed": [move_to(runtime, add_job(runtime), JobState.COMPLETED)],
        "active": [move_to(runtime, add_job(runtime), JobState.ACTIVE)],
        "b_waiting": [add_job(runtime, tenant="tenant-b")],
        "b_failed": [move_to(runtime, add_job(runtime, tenant="tenant-b"), JobState.FAILED)],
    }
    return made


def test_admin_all_stats_lists_every_queue_for_admins_tenant(api, jobs, admin_a) -> None:
    answer = api.get(f"{ADMIN}/stats", token=admin_a)
    assert answer.status == 200
    by_queue = {entry["queue"]: entry for entry in answer.data}
    assert set(by_queue) == set(QUEUES)
    task = by_queue[Q]
    counts = (task["waiting"], task["delayed"], task["failed"], task["completed"], task["active"])
    assert counts == (3, 1, 2, 1, 1)
    assert task["sqs"] is None  # SQS depths mix tenants: operators only


def test_admin_queue_stats_for_operator_counts_every_tenant_with_sqs_depths(api, jobs, operator) -> None:
    data = api.get(f"{ADMIN}/{Q}/stats", token=operator).data
    assert (data["waiting"], data["failed"], data["total"]) == (4, 3, 10)
    assert set(data["sqs"]) == {"visible", "inFlight", "delayed", "dlq"}


def test_admin_queue_stats_unknown_queue_answers_404(memory_api, admin_a) -> None:
    answer = memory_api.get(f"{ADMIN}/no-such-queue/stats", token=admin_a)
    assert answer.status == 404
    assert answer.fields() == ["queue"]


def test_admin_list_jobs_pages_with_inclusive_start_end(api, jobs, admin_a) -> None:
    first = api.get(f"{ADMIN}/{Q}/jobs", token=admin_a, query={"state": "waiting", "start": 0, "end": 1}).data
    rest = api.get(f"{ADMIN}/{Q}/jobs", token=admin_a, query={"state": "waiting", "start": 2, "end": 10}).data
    assert (first["start"], first["end"], len(first["jobs"]), len(rest["jobs"])) == (0, 1, 2, 1)
    listed = [j["jobId"] for j in first["jobs"] + rest["jobs"]]
    assert listed == [j.id for j in jobs["waiting"]]  # oldest first, tenant B's job not among them


def test_admin_list_jobs_defaults_to_waiting_0_to_10(api, jobs, admin_a) -> None:
    data = api.get(f"{ADMIN}/{Q}/jobs", token=admin_a).data
    assert (data["state"], data["start"], data["end"], len(data["jobs"])) == ("waiting", 0, 10, 3)


def test_admin_list_jobs_default_page_holds_eleven_jobs(memory_api, memory_runtime, job_types, admin_a) -> None:
    """Seed 002: `start` 0 and `end` 10 by default, both inclusive."""
    made = [add_job(memory_runtime, data={"n": n}) for n in range(13)]
    data = memory_api.get(f"{ADMIN}/{Q}/jobs", token=admin_a).data
    assert [j["jobId"] for j in data["jobs"]] == [j.id for j in made[:11]]


def test_admin_list_failed_jobs_shows_failed_reason(api, jobs, admin_a) -> None:
    data = api.get(f"{ADMIN}/{Q}/jobs", token=admin_a, query={"state": "failed"}).data
    assert {j["jobId"] for j in data["jobs"]} == {j.id for j in jobs["failed"]}
    assert {j["failedReason"] for j in data["jobs"]} == {"boom"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"state": "paused"}, "query.state"),
        ({"start": -1}, "query.start"),
        ({"start": "x"}, "query.start"),
        ({"start": 5, "end": 4}, "query.end"),
        ({"start": 0, "end": 1000}, "query.end"),
    ],
)
def test_admin_list_jobs_bad_query_answers_422_naming_the_field(memory_api, admin_a, query, field) -> None:
    answer = memory_api.get(f"{ADMIN}/{Q}/jobs", token=admin_a, query=query)
    assert answer.status == 422
    assert answer.fields() == [field]


def test_admin_get_job_answers_job_view(api, jobs, admin_a) -> None:
    job = jobs["completed"][0]
    data = api.get(f"{ADMIN}/{Q}/{job.id}", token=admin_a).data
    assert (data["jobId"], data["state"], data["result"], data["progress"]) == (job.id, "completed", {"ok": True}, 100)


def test_admin_get_job_in_other_queue_answers_404(memory_api, memory_runtime, job_types, admin_a) -> None:
    job = add_job(memory_runtime)
    assert memory_api.get(f"{ADMIN}/email/{job.id}", token=admin_a).status == 404


def test_admin_retry_failed_job_requeues_it(api, runtime, jobs, admin_a) -> None:
    job = jobs["failed"][0]
    answer = api.post(f"{ADMIN}/{Q}/{job.id}/retry", token=admin_a)
    assert answer.status == 200
    assert (answer.data["state"], answer.data["attemptsMade"], answer.data["failedReason"]) == ("waiting", 0, None)
    assert runtime.store.get(job.id).state is JobState.WAITING


def test_admin_retry_job_that_did_not_fail_answers_409(api, jobs, admin_a) -> None:
    answer = api.post(f"{ADMIN}/{Q}/{jobs['waiting'][0].id}/retry", token=admin_a)
    assert answer.status == 409
    assert answer.json["success"] is False


def test_admin_promote_delayed_job_makes_it_waiting_and_sends_it(api, runtime, jobs, admin_a) -> None:
    job = jobs["delayed"][0]
    answer = api.post(f"{ADMIN}/{Q}/{job.id}/promote", token=admin_a)
    assert (answer.status, answer.data["state"]) == (200, "waiting")
    assert runtime.store.get(job.id).state is JobState.WAITING


def test_admin_promote_job_that_is_not_delayed_answers_409(api, jobs, admin_a) -> None:
    assert api.post(f"{ADMIN}/{Q}/{jobs['failed'][0].id}/promote", token=admin_a).status == 409


def test_admin_remove_job_deletes_it_and_answers_removed_job(api, runtime, jobs, admin_a) -> None:
    job = jobs["waiting"][0]
    answer = api.delete(f"{ADMIN}/{Q}/{job.id}", token=admin_a)
    assert (answer.status, answer.data["jobId"]) == (200, job.id)
    assert runtime.store.get(job.id) is None
    assert api.get(f"{ADMIN}/{Q}/{job.id}", token=admin_a).status == 404


def test_admin_remove_active_job_answers_409(api, jobs, admin_a) -> None:
    assert api.delete(f"{ADMIN}/{Q}/{jobs['active'][0].id}", token=admin_a).status == 409


def test_admin_job_routes_unknown_job_answer_404(memory_api, admin_a) -> None:
    missing = uuid.uuid4()
    assert memory_api.get(f"{ADMIN}/{Q}/{missing}", token=admin_a).status == 404
    assert memory_api.post(f"{ADMIN}/{Q}/{missing}/retry", token=admin_a).status == 404
    assert memory_api.post(f"{ADMIN}/{Q}/{missing}/promote", token=admin_a).status == 404
    assert memory_api.delete(f"{ADMIN}/{Q}/{missing}", token=admin_a).status == 404


def test_admin_pause_and_resume_by_operator_flip_the_paused_flag(memory_api, memory_runtime, operator) -> None:
    paused = memory_api.post(f"{ADMIN}/email/pause", token=operator)
    assert (paused.status, paused.data) == (200, {"queues": ["email"], "paused": True})
    assert memory_runtime.store.is_paused("email")
    assert memory_api.get(f"{ADMIN}/email/stats", token=operator).data["paused"] is True
    resumed = memory_api.post(f"{ADMIN}/email/resume", token=operator)
    assert (resumed.status, resumed.data["paused"]) == (200, False)
    assert not memory_runtime.store.is_paused("email")


def test_admin_pause_unknown_queue_answers_404(memory_api, operator, admin_a) -> None:
    assert memory_api.post(f"{ADMIN}/nope/pause", token=operator).status == 404
    assert memory_api.post(f"{ADMIN}/nope/resume", token=admin_a).status == 404


def test_admin_pause_by_tenant_admin_pauses_only_its_tenant(
    memory_api, memory_runtime, admin_a, admin_b, operator
) -> None:
    paused = memory_api.post(f"{ADMIN}/email/pause", token=admin_a)
    assert (paused.status, paused.data) == (200, {"queues": ["email"], "paused": True})
    assert paused.json["message"] == "queue paused for tenant tenant-a"
    store = memory_runtime.store
    assert store.is_paused("email", tenant_id="tenant-a")
    assert not store.is_paused("email", tenant_id="tenant-b")
    assert store.paused_queues() == set()  # the queue itself runs: the event source stays enabled
    assert memory_api.get(f"{ADMIN}/email/stats", token=admin_a).data["paused"] is True
    assert memory_api.get(f"{ADMIN}/email/stats", token=admin_b).data["paused"] is False
    assert memory_api.get(f"{ADMIN}/email/stats", token=operator).data["paused"] is False
    by_queue = {q["queue"]: q for q in memory_api.get(f"{ADMIN}/stats", token=admin_a).data}
    assert by_queue["email"]["paused"] is True and by_queue["sms"]["paused"] is False
    # An admin's resume cannot lift an operator's pause of the whole queue.
    memory_api.post(f"{ADMIN}/email/pause", token=operator)
    resumed = memory_api.post(f"{ADMIN}/email/resume", token=admin_a)
    assert (resumed.status, resumed.data["paused"]) == (200, False)
    assert store.pauses().tenants == frozenset()  # its own pause is lifted
    assert store.paused_queues() == {"email"}
    assert memory_api.get(f"{ADMIN}/email/stats", token=admin_a).data["paused"] is True


def test_admin_clean_removes_finished_jobs_of_admins_tenant_only(api, runtime, jobs, admin_a) -> None:
    answer = api.post(f"{ADMIN}/{Q}/clean", token=admin_a, json_body={"grace": 0, "state": "failed"})
    assert (answer.status, answer.data) == (200, {"removed": 2, "byQueue": {Q: 2}})
    assert runtime.store.get(jobs["b_failed"][0].id) is not None
    completed = api.post(f"{ADMIN}/{Q}/clean", token=admin_a, json_body={"grace": 0})
    assert completed.data["removed"] == 1


def test_admin_clean_with_grace_keeps_recent_jobs(api, jobs, admin_a) -> None:
    answer = api.post(f"{ADMIN}/{Q}/clean", token=admin_a, json_body={"grace": 3_600_000, "state": "failed"})
    assert answer.data["removed"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.grace"),
        ({"grace": -1}, "body.grace"),
        ({"grace": 0, "state": "waiting"}, "body.state"),
        ({"grace": 0, "limit": 0}, "body.limit"),
        ({"grace": 0, "force": True}, "body.force"),
    ],
)
def test_admin_clean_bad_body_answers_422_naming_the_field(memory_api, admin_a, body, field) -> None:
    answer = memory_api.post(f"{ADMIN}/{Q}/clean", token=admin_a, json_body=body)
    assert answer.status == 422
    assert answer.fields() == [field]


def test_admin_drain_without_body_removes_waiting_jobs_only(api, runtime, jobs, admin_a) -> None:
    answer = api.post(f"{ADMIN}/{Q}/drain", token=admin_a)
    assert (answer.status, answer.data["removed"]) == (200, 3)
    assert runtime.store.get(jobs["delayed"][0].id) is not None
    assert runtime.store.get(jobs["b_waiting"][0].id) is not None


def test_admin_drain_with_delayed_removes_delayed_jobs_too(api, jobs, admin_a) -> None:
    answer = api.post(f"{ADMIN}/{Q}/drain", token=admin_a, json_body={"delayed": True})
    assert answer.data["removed"] == 4


def test_admin_drain_by_operator_removes_every_tenants_waiting_jobs(api, jobs, operator) -> None:
    assert api.post(f"{ADMIN}/{Q}/drain", token=operator, json_body={"delayed": False}).data["removed"] == 4


def test_admin_retried_job_is_back_on_its_queue(memory_api, memory_runtime, job_types, admin_a) -> None:
    job = move_to(memory_runtime, add_job(memory_runtime), JobState.FAILED)
    receive(memory_runtime, Q)  # the message of the first dispatch
    memory_api.post(f"{ADMIN}/{Q}/{job.id}/retry", token=admin_a)
    assert len(receive(memory_runtime, Q)) == 1
