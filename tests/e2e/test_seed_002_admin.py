"""Seed 002 (BullMQ): every admin request as the seed writes it, `GET /metrics` and the page at /admin/jobs.

The requests go to the local stack over HTTP with a tenant admin's bearer token (the metrics
scrape with an operator's), against the seed's `export` queue. The jobs are of a throwaway
job type on that queue, added in this process (the stack runs here), so the test decides
which of them fail. The tenant admin's pause holds its jobs waiting while the seed's
listing, details, remove and drain requests look at them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from jobline.core.registry import job_type, unregister
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.runtime import get_runtime
from jobline_dev.local import LocalStack
from tests.e2e.support import Api, matches, rate_limited_wait, wait_for_job

QUEUE = "export"
ADMIN = "/api/v1/admin/jobs"
RATE_LIMITED_WAIT = rate_limited_wait(QUEUE)
# The fields of seed 002's admin answers that its admin page and clients read.
STATS_FIELDS = {"queue": QUEUE, "waiting": "…", "active": "…", "completed": "…", "failed": "…", "delayed": "…"}
JOB_FIELDS = {
    "id": "…",
    "name": "…",
    "data": "…",
    "state": "…",
    "progress": "…",
    "attemptsMade": "…",
    "failedReason": "…",
    "stacktrace": "…",
}


@pytest.fixture
def admin(stack: LocalStack, tenant: str) -> Iterator[Api]:
    """A tenant admin's API; its pause of the export queue is lifted whatever happens."""
    api = Api(stack.api_url, stack.token(tenant=tenant, roles=("admin",)))
    yield api
    api.post(f"{ADMIN}/{QUEUE}/resume")


@pytest.fixture
def export_job(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A throwaway job type on the export queue that fails while `fail` is set; a paused tenant's
    jobs are looked at again after one second instead of thirty."""
    monkeypatch.setattr("jobline.engine.worker.PAUSED_RECHECK_SECONDS", 1)
    state: dict[str, Any] = {"fail": set(), "name": f"e2e-bookings-csv-{uuid.uuid4().hex[:6]}"}

    def run(payload: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if ctx.job_id in state["fail"]:
            raise RuntimeError("planned export failure")
        return {"rows": len(payload.get("filters", {}))}

    job_type(QUEUE, state["name"])(run)
    yield state
    unregister(QUEUE, state["name"])


def _add(tenant: str, name: str, **options: Any) -> str:
    # addExportJob('bookings-csv', {filters: {status: 'confirmed'}}), in this process.
    job = enqueue(
        get_runtime(),
        queue=QUEUE,
        name=name,
        data={"filters": {"status": "confirmed"}},
        tenant_id=tenant,
        options=JobOptions(**options),
    ).job
    return job.id


def _ok(answer: Any) -> Any:
    assert answer.status == 200, answer.text[:500]
    assert answer.body["success"] is True, answer.text[:500]
    return answer.data


def test_seed_002_admin_requests_as_written(
    stack: LocalStack, tenant: str, admin: Api, export_job: dict[str, Any]
) -> None:
    name = export_job["name"]
    # POST /api/v1/admin/jobs/:queueName/pause — an admin pauses its tenant's jobs on the queue.
    assert _ok(admin.post(f"{ADMIN}/{QUEUE}/pause")) == {"queues": [QUEUE], "paused": True}
    kept, failing, removed = (_add(tenant, name, attempts=1) for _ in range(3))
    export_job["fail"].add(failing)

    # GET /api/v1/admin/jobs/stats
    every = {entry["queue"]: entry for entry in _ok(admin.get(f"{ADMIN}/stats"))}
    assert {"export", "email", "ai", "scheduled"} <= set(every)
    assert matches({**STATS_FIELDS, "waiting": 3, "paused": True}, every[QUEUE]) == []
    # GET /api/v1/admin/jobs/:queueName/stats
    one = _ok(admin.get(f"{ADMIN}/{QUEUE}/stats"))
    assert matches({**STATS_FIELDS, "waiting": 3, "active": 0, "paused": True}, one) == []

    # GET /api/v1/admin/jobs/:queueName/jobs?state=waiting&start=0&end=10
    page = _ok(admin.get(f"{ADMIN}/{QUEUE}/jobs?state=waiting&start=0&end=10"))
    assert (page["state"], page["start"], page["end"]) == ("waiting", 0, 10)
    assert [job["id"] for job in page["jobs"]] == [kept, failing, removed]  # held: the tenant is paused

    # GET /api/v1/admin/jobs/:queueName/:jobId
    details = _ok(admin.get(f"{ADMIN}/{QUEUE}/{kept}"))
    assert matches({**JOB_FIELDS, "id": kept, "name": name, "state": "waiting", "attemptsMade": 0}, details) == []
    assert details["data"] == {"filters": {"status": "confirmed"}}

    # DELETE /api/v1/admin/jobs/:queueName/:jobId
    assert _ok(admin.delete(f"{ADMIN}/{QUEUE}/{removed}"))["id"] == removed
    assert admin.get(f"{ADMIN}/{QUEUE}/{removed}").status == 404

    # POST /api/v1/admin/jobs/:queueName/resume — the held jobs run.
    assert _ok(admin.post(f"{ADMIN}/{QUEUE}/resume")) == {"queues": [QUEUE], "paused": False}
    assert _ok(admin.get(f"{ADMIN}/{QUEUE}/stats"))["paused"] is False
    done = wait_for_job(admin, f"{ADMIN}/{QUEUE}/{kept}", timeout=RATE_LIMITED_WAIT)
    failed = wait_for_job(admin, f"{ADMIN}/{QUEUE}/{failing}", timeout=RATE_LIMITED_WAIT)
    assert (done["state"], done["attemptsMade"], done["result"]) == ("completed", 1, {"rows": 1})
    assert failed["state"] == "failed" and "planned export failure" in failed["failedReason"]
    assert "RuntimeError" in failed["stacktrace"]

    # POST /api/v1/admin/jobs/:queueName/:jobId/retry — fixed, it completes.
    export_job["fail"].discard(failing)
    assert _ok(admin.post(f"{ADMIN}/{QUEUE}/{failing}/retry"))["state"] == "waiting"
    assert wait_for_job(admin, f"{ADMIN}/{QUEUE}/{failing}", timeout=RATE_LIMITED_WAIT)["state"] == "completed"

    # POST /api/v1/admin/jobs/:queueName/clean {"grace": 86400000}: both completed within 24 h stay.
    kept_a_day = _ok(admin.post(f"{ADMIN}/{QUEUE}/clean", {"grace": 86400000}))
    assert (kept_a_day["removed"], _ok(admin.get(f"{ADMIN}/{QUEUE}/stats"))["completed"]) == (0, 2)
    # The troubleshooting curl: {"grace": 3600000} keeps the last hour's.
    assert _ok(admin.post(f"{ADMIN}/{QUEUE}/clean", {"grace": 3600000}))["removed"] == 0
    assert _ok(admin.post(f"{ADMIN}/{QUEUE}/clean", {"grace": 0}))["removed"] == 2

    # POST /api/v1/admin/jobs/:queueName/drain — the waiting jobs go.
    _ok(admin.post(f"{ADMIN}/{QUEUE}/pause"))
    drained = [_add(tenant, name) for _ in range(2)]
    assert _ok(admin.post(f"{ADMIN}/{QUEUE}/drain")) == {"removed": 2, "byQueue": {QUEUE: 2}}
    assert all(admin.get(f"{ADMIN}/{QUEUE}/{job_id}").status == 404 for job_id in drained)


def test_seed_002_admin_pause_leaves_other_tenants_jobs_running(
    stack: LocalStack, tenant: str, admin: Api, export_job: dict[str, Any]
) -> None:
    other_tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    other = Api(stack.api_url, stack.token(tenant=other_tenant, roles=("admin",)))
    _ok(admin.post(f"{ADMIN}/{QUEUE}/pause"))
    held = _add(tenant, export_job["name"])
    running = _add(other_tenant, export_job["name"])

    assert wait_for_job(other, f"{ADMIN}/{QUEUE}/{running}", timeout=RATE_LIMITED_WAIT)["state"] == "completed"
    waiting = _ok(admin.get(f"{ADMIN}/{QUEUE}/{held}"))
    assert (waiting["state"], waiting["attemptsMade"]) == ("waiting", 0)
    assert _ok(other.get(f"{ADMIN}/{QUEUE}/stats"))["paused"] is False
    _ok(admin.post(f"{ADMIN}/{QUEUE}/resume"))
    assert wait_for_job(admin, f"{ADMIN}/{QUEUE}/{held}", timeout=RATE_LIMITED_WAIT)["state"] == "completed"


def test_seed_002_admin_routes_need_the_admin_role(tenant_api: Api) -> None:
    for method, path in (("GET", f"{ADMIN}/stats"), ("POST", f"{ADMIN}/{QUEUE}/pause")):
        answer = tenant_api.request(method, path)
        assert (answer.status, answer.body["message"]) == (403, "this action needs the admin role")


def test_seed_002_prometheus_metrics_at_the_root_path(
    stack: LocalStack, tenant: str, operator_api: Api, export_job: dict[str, Any]
) -> None:
    name = export_job["name"]
    admin = Api(stack.api_url, stack.token(tenant=tenant, roles=("admin",)))
    job_id = _add(tenant, name)
    wait_for_job(admin, f"{ADMIN}/{QUEUE}/{job_id}", timeout=RATE_LIMITED_WAIT)

    # http://localhost:5000/metrics, with the bearer token.
    answer = operator_api.get("/metrics")
    assert answer.status == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    for sample in (
        r'queue_jobs_processed_total\{queue="export",status="completed"\} [1-9]\d*',
        r'queue_jobs_processed_total\{queue="export",status="failed"\} \d+',
        r'queue_jobs_waiting\{queue="export"\} \d+',
        r'queue_jobs_active\{queue="export"\} \d+',
        r'queue_jobs_failed\{queue="export"\} \d+',
        rf'queue_job_duration_seconds_count\{{queue="export",job_type="{name}"\}} 1',
        rf'queue_job_duration_seconds_sum\{{queue="export",job_type="{name}"\}} [\d.e+-]+',
    ):
        assert re.search(rf"^{sample}$", text, re.MULTILINE), sample
    assert Api(stack.api_url).get("/metrics").status == 401


def test_seed_002_admin_page_at_admin_jobs(stack: LocalStack) -> None:
    # http://localhost:5173/admin/jobs: the page asks for a token, then calls the admin API.
    answer = Api(stack.api_url).get("/admin/jobs", headers={"accept": "text/html"})
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "auto-refresh (5 s)" in answer.text
    assert answer.text == Api(stack.api_url).get("/admin").text  # the same page at both addresses
