"""Cross-tenant probes: tenant B never reads, retries, promotes or removes tenant A's jobs (404, not 403)."""

from __future__ import annotations

import pytest

from jobline.core.states import JobState
from tests.api.helpers import add_job, move_to

V1 = "/api/v1"
Q = "generic-task"


@pytest.fixture
def a_jobs(runtime, job_types):
    """Tenant A's jobs: two failed, one delayed, one waiting."""
    return {
        "failed": move_to(runtime, add_job(runtime), JobState.FAILED),
        "failed2": move_to(runtime, add_job(runtime), JobState.FAILED),
        "delayed": add_job(runtime, delay=3_600_000),
        "waiting": add_job(runtime),
    }


def probes(jobs) -> list[tuple[str, str]]:
    failed, failed2, delayed, waiting = (jobs[k].id for k in ("failed", "failed2", "delayed", "waiting"))
    return [
        ("GET", f"{V1}/jobs/{Q}/{waiting}/status"),
        ("GET", f"{V1}/jobs/{Q}/{waiting}"),
        ("POST", f"{V1}/jobs/{Q}/{failed}/retry"),
        ("GET", f"{V1}/admin/jobs/{Q}/{waiting}"),
        ("POST", f"{V1}/admin/jobs/{Q}/{failed2}/retry"),
        ("POST", f"{V1}/admin/jobs/{Q}/{delayed}/promote"),
        ("DELETE", f"{V1}/admin/jobs/{Q}/{waiting}"),
    ]


def test_tenant_b_admin_probing_tenant_a_jobs_gets_404_and_changes_nothing(api, runtime, a_jobs, admin_b) -> None:
    for method, path in probes(a_jobs):
        answer = api.request(method, path, token=admin_b)
        assert answer.status == 404, (method, path, answer.text)
        assert "not found" in answer.json["message"]
    assert runtime.store.get(a_jobs["failed"].id).state is JobState.FAILED
    assert runtime.store.get(a_jobs["delayed"].id).state is JobState.DELAYED
    assert runtime.store.get(a_jobs["waiting"].id) is not None


def test_tenant_a_admin_reaches_the_same_jobs(api, a_jobs, admin_a) -> None:
    for method, path in probes(a_jobs):
        assert api.request(method, path, token=admin_a).status == 200, (method, path)


def test_operator_reaches_any_tenants_job(api, a_jobs, operator) -> None:
    assert api.get(f"{V1}/admin/jobs/{Q}/{a_jobs['waiting'].id}", token=operator).status == 200


def test_tenant_b_listing_and_stats_do_not_show_tenant_a_jobs(api, a_jobs, admin_b) -> None:
    listing = api.get(f"{V1}/admin/jobs/{Q}/jobs", token=admin_b, query={"state": "waiting"}).data
    assert listing["jobs"] == []
    assert api.get(f"{V1}/queues/{Q}/stats", token=admin_b).data["total"] == 0
    assert api.get(f"{V1}/admin/jobs/{Q}/stats", token=admin_b).data["total"] == 0


def test_tenant_b_clean_and_drain_leave_tenant_a_jobs(api, runtime, a_jobs, admin_b) -> None:
    assert (
        api.post(f"{V1}/admin/jobs/{Q}/clean", token=admin_b, json_body={"grace": 0, "state": "failed"}).data["removed"]
        == 0
    )
    assert api.post(f"{V1}/admin/jobs/{Q}/drain", token=admin_b, json_body={"delayed": True}).data["removed"] == 0
    assert api.post(f"{V1}/jobs/failed/clear", token=admin_b).data["removed"] == 0
    assert all(runtime.store.get(job.id) is not None for job in a_jobs.values())


def test_same_idempotency_key_in_two_tenants_makes_two_jobs(api, job_types, user_a, user_b) -> None:
    body = {"x": 1, "options": {"jobId": "same-key"}}
    a = api.post(f"{V1}/jobs/{Q}", token=user_a, json_body=body).data
    b = api.post(f"{V1}/jobs/{Q}", token=user_b, json_body=body).data
    assert a["jobId"] != b["jobId"]
    assert a["created"] and b["created"]
