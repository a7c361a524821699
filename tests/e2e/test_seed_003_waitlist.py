"""Seed 003 (waitlist background jobs) over HTTP on the local stack: every route it lists, as written, with a token.

The slots and entries the jobs work on are made through the waitlist routes. Two things no
route offers are done in the database: a notification whose e-mail failed (moto's SES does
not fail on demand) and a slot deleted while its cascade waits (to get a failed job to retry).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.ses.models import ses_backends

from jobline_dev.local import LocalStack
from tests.e2e.support import Api, matches, wait_for, wait_for_job

V1 = "/api/v1"
WAITLIST_QUEUES = ["waitlist-expired-holds", "waitlist-cascade", "waitlist-notifications", "waitlist-cleanup"]
TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_-]+)")
# Seed 003's queue health: waiting, active, completed, failed and delayed counts, and the pause status.
HEALTH = {"queue": "…", "waiting": "…", "active": "…", "completed": "…", "failed": "…", "delayed": "…", "paused": "…"}


@pytest.fixture
def admin_api(stack: LocalStack, tenant: str) -> Api:
    """The API as an admin of the test's tenant (the seed's management routes are admin-only)."""
    return Api(stack.api_url, stack.token(tenant=tenant, roles=("admin",)))


@pytest.fixture
def waitlist_resumed(operator_api: Api) -> Iterator[None]:
    """Whatever a test does, the waitlist queues run again after it."""
    yield
    assert operator_api.post("/api/jobs/resume").status == 200


def mails_to(stack: LocalStack, address: str) -> list[Any]:
    """The e-mails moto's SES accepted for `address` (the stack's moto runs in this process)."""
    sent = ses_backends[ACCOUNT_ID][stack.config.region].sent_messages
    return [m for m in sent if address in m.destinations["ToAddresses"]]


def slot_with_offer(api: Api, stack: LocalStack) -> tuple[str, dict[str, str]]:
    """A slot released to `first` (priority 5) with `second` (priority 1) waiting: (slot id, entry id by name)."""
    slot = api.post(f"{V1}/waitlist/slots", {"name": "Friday 10:00", "holdMinutes": 30})
    assert slot.status == 201, slot.text
    slot_id = slot.data["id"]
    entries = {}
    for name, priority in (("first", 5), ("second", 1)):
        address = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        joined = api.post(
            f"{V1}/waitlist/slots/{slot_id}/entries", {"name": name, "email": address, "priority": priority}
        )
        assert joined.status == 201, joined.text
        entries[name], entries[f"{name}Email"] = joined.data["id"], address
    released = api.post(f"{V1}/waitlist/slots/{slot_id}/release")
    assert released.status == 202, released.text
    wait_for(lambda: mails_to(stack, entries["firstEmail"]), timeout=20, what="the first offer e-mail")
    return slot_id, entries


def entry_statuses(api: Api, slot_id: str) -> dict[str, str]:
    answer = api.get(f"{V1}/waitlist/slots/{slot_id}/entries")
    assert answer.status == 200, answer.text
    return {entry["id"]: entry["status"] for entry in answer.data}


def finished(api: Api, queue: str, answer: Any) -> dict[str, Any]:
    """The trigger's job, read at the seed's `GET /api/jobs/:queueName/:jobId` once it finished."""
    assert answer.status == 201, answer.text
    assert matches({"success": True, "data": {"jobId": "…", "queue": queue}}, answer.body) == [], answer.text
    return wait_for_job(api, f"/api/jobs/{queue}/{answer.data['jobId']}", timeout=30)


def test_seed_cascade_trigger_and_notification_retry_as_written(
    stack: LocalStack, admin_api: Api, sql: sa.Engine
) -> None:
    slot_id, entries = slot_with_offer(admin_api, stack)
    first, second = entries["first"], entries["second"]

    # POST /api/jobs/cascade/trigger - Schedule notification cascade (slot, previous entry, reason).
    body = {"slotId": slot_id, "previousEntryId": first, "reason": "declined"}
    job = finished(admin_api, "waitlist-cascade", admin_api.post("/api/jobs/cascade/trigger", body))
    assert job["status"] == "completed", job
    expected = {
        "slotId": slot_id,
        "previous": {"entryId": first, "reason": "declined", "closedHoldId": "…"},
        "offers": [{"slotId": slot_id, "entryId": second, "holdId": "…", "notificationId": "…", "expiresAt": "…"}],
    }
    assert matches(expected, job["result"]) == [], job["result"]
    assert entry_statuses(admin_api, slot_id) == {first: "declined", second: "offered"}
    wait_for(lambda: mails_to(stack, entries["secondEmail"]), timeout=20, what="the cascaded offer e-mail")

    # POST /api/jobs/notifications/retry - Retry failed notification. Its first send failed for good:
    notification_id = job["result"]["offers"][0]["notificationId"]
    with sql.begin() as connection:
        connection.execute(
            sa.text("UPDATE waitlist_notifications SET status = 'failed' WHERE id = :id"), {"id": notification_id}
        )
    retried = admin_api.post("/api/jobs/notifications/retry", {"notificationId": notification_id})
    job = finished(admin_api, "waitlist-notifications", retried)
    assert job["status"] == "completed", job
    assert job["result"] == {"notificationId": notification_id, "previousStatus": "failed", "queued": 1}
    wait_for(lambda: len(mails_to(stack, entries["secondEmail"])) == 2, timeout=20, what="the re-sent offer")
    again = admin_api.post("/api/jobs/notifications/retry", {"notificationId": notification_id})
    assert again.status == 409, again.text  # it was sent: nothing to retry


def test_seed_cascade_trigger_naming_what_is_not_the_callers_is_422_naming_the_field(
    stack: LocalStack, admin_api: Api
) -> None:
    slot_id, entries = slot_with_offer(admin_api, stack)
    outsider = admin_api.with_token(stack.token(tenant=f"other-{uuid.uuid4().hex[:6]}", roles=("admin",)))
    body = {"slotId": slot_id, "previousEntryId": entries["first"], "reason": "expired"}
    refused = outsider.post("/api/jobs/cascade/trigger", body)
    assert refused.status == 422
    assert refused.body["errors"] == [{"field": "body.slotId", "message": "no slot has this id"}]
    unknown = admin_api.post("/api/jobs/cascade/trigger", {**body, "previousEntryId": str(uuid.uuid4())})
    assert [e["field"] for e in unknown.body["errors"]] == ["body.previousEntryId"]
    bad_reason = admin_api.post("/api/jobs/cascade/trigger", {**body, "reason": "cancelled"})
    assert [e["field"] for e in bad_reason.body["errors"]] == ["body.reason"]
    assert entry_statuses(admin_api, slot_id)[entries["first"]] == "offered"  # nothing happened


def test_seed_expired_holds_and_cleanup_triggers_as_written(stack: LocalStack, admin_api: Api, tenant: str) -> None:
    # POST /api/jobs/expired-holds/trigger - Manually trigger expired holds check (all tenants, or one).
    job = finished(admin_api, "waitlist-expired-holds", admin_api.post("/api/jobs/expired-holds/trigger"))
    assert job["status"] == "completed", job
    assert isinstance(job["result"]["released"], int)
    own = admin_api.post("/api/jobs/expired-holds/trigger", {"tenantId": tenant})
    assert finished(admin_api, "waitlist-expired-holds", own)["status"] == "completed"
    other = admin_api.post("/api/jobs/expired-holds/trigger", {"tenantId": "someone-else"})
    assert other.status == 422
    assert [e["field"] for e in other.body["errors"]] == ["body.tenantId"]

    # POST /api/jobs/cleanup/trigger - Schedule cleanup job (default retention 30 days, or retentionDays).
    for body in (None, {"retentionDays": 30}):
        job = finished(admin_api, "waitlist-cleanup", admin_api.post("/api/jobs/cleanup/trigger", body))
        assert job["status"] == "completed", job
        assert matches({"notifications": "…", "auditLogs": "…", "jobs": "…"}, job["result"]) == []


def test_seed_queue_management_and_job_monitoring_as_written(
    stack: LocalStack, tenant_api: Api, admin_api: Api, operator_api: Api, sql: sa.Engine, waitlist_resumed: None
) -> None:
    # GET /api/jobs/status - Get queue health and statistics.
    status = tenant_api.get("/api/jobs/status")
    assert status.status == 200, status.text
    assert [entry["queue"] for entry in status.data] == WAITLIST_QUEUES
    assert all(matches(HEALTH, entry) == [] for entry in status.data), status.text

    # POST /api/jobs/pause - Pause all queues (operators: every tenant's jobs wait).
    paused = operator_api.post("/api/jobs/pause")
    assert paused.status == 200, paused.text
    assert paused.data == {"queues": WAITLIST_QUEUES, "paused": True}
    assert all(entry["paused"] for entry in tenant_api.get("/api/jobs/status").data)

    # While paused, a cascade is queued and its slot removed: the job will fail when the queues resume.
    slot_id, entries = slot_with_offer_paused(admin_api)
    body = {"slotId": slot_id, "previousEntryId": entries["first"], "reason": "expired"}
    queued = admin_api.post("/api/jobs/cascade/trigger", body)
    assert queued.status == 201, queued.text
    job_path = f"/api/jobs/waitlist-cascade/{queued.data['jobId']}"
    assert admin_api.get(job_path).data["status"] == "waiting"
    with sql.begin() as connection:
        connection.execute(sa.text("DELETE FROM waitlist_slots WHERE id = :id"), {"id": slot_id})

    # POST /api/jobs/resume - Resume all queues.
    resumed = operator_api.post("/api/jobs/resume")
    assert (resumed.status, resumed.data["paused"]) == (200, False)

    # GET /api/jobs/:queueName/:jobId - Get job details.
    job = wait_for_job(admin_api, job_path, timeout=30)
    assert matches({"jobId": queued.data["jobId"], "status": "failed", "queueName": "waitlist-cascade"}, job) == []
    assert "previousEntryId" in job["failedReason"]
    assert tenant_api.with_token(stack.token(tenant="someone-else", roles=())).get(job_path).status == 404

    # POST /api/jobs/:queueName/:jobId/retry - Retry specific job (it fails again: its slot is gone).
    retried = admin_api.post(f"{job_path}/retry")
    assert retried.status == 200, retried.text
    assert retried.data["status"] in ("waiting", "active", "failed")
    assert wait_for_job(admin_api, job_path, timeout=30)["status"] == "failed"

    # POST /api/jobs/failed/clear - Clear failed jobs (the caller's tenant's).
    cleared = admin_api.post("/api/jobs/failed/clear")
    assert cleared.status == 200, cleared.text
    assert cleared.data["byQueue"]["waitlist-cascade"] == 1
    assert admin_api.get(job_path).status == 404


def slot_with_offer_paused(api: Api) -> tuple[str, dict[str, str]]:
    """A slot with `first` waiting (the queues are paused, so no offer is made yet)."""
    slot = api.post(f"{V1}/waitlist/slots", {"name": "Saturday 09:00", "holdMinutes": 30})
    assert slot.status == 201, slot.text
    joined = api.post(f"{V1}/waitlist/slots/{slot.data['id']}/entries", {"name": "first", "email": "f@example.com"})
    assert joined.status == 201, joined.text
    return slot.data["id"], {"first": joined.data["id"]}
