"""The waitlist job triggers of the job-management routes, run by the worker against the real job types."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from jobline.core.states import JobState
from jobline.domains.waitlist import cascade, records
from jobline.domains.waitlist.tables import HoldStatus, Notification, NotificationStatus, Slot, SlotStatus
from jobline.engine.enqueue import enqueue
from jobline_dev.support import receive
from tests.api.helpers import make_token
from tests.waitlist.conftest import mail_to, run_all, run_queue
from tests.waitlist.helpers import entry_status, holds_of, new_entry, new_slot, notifications_of

EXPIRED = "/api/v1/jobs/expired-holds/trigger"


def admin_of(tenant: str) -> str:
    return make_token(tenant=tenant, user="ada", roles=["admin"])


def expired_offer(rt, tenant):
    slot_id = new_slot(rt, tenant, status="available")
    new_entry(rt, tenant, slot_id, "ola")
    cascade.cascade_slot(rt, tenant_id=tenant, slot_id=slot_id)
    return slot_id


def test_expired_holds_trigger_naming_own_tenant_releases_only_its_holds(rt, api, tenant) -> None:
    mine, theirs = expired_offer(rt, tenant), expired_offer(rt, f"{tenant}-b")
    rt.clock.advance(20 * 60)
    answer = api.post(EXPIRED, token=admin_of(tenant), json_body={"tenantId": tenant})
    assert answer.status == 201, answer.text
    run_queue(rt, "waitlist-expired-holds")
    assert rt.store.get(answer.data["jobId"]).result == {"released": 1}
    assert holds_of(rt, mine)[0].status is HoldStatus.EXPIRED
    assert holds_of(rt, theirs)[0].status is HoldStatus.ACTIVE


def test_expired_holds_trigger_naming_another_tenant_answers_422_naming_tenant_id(rt, api, tenant) -> None:
    theirs = expired_offer(rt, f"{tenant}-b")
    rt.clock.advance(20 * 60)
    answer = api.post(EXPIRED, token=admin_of(tenant), json_body={"tenantId": f"{tenant}-b"})
    assert answer.status == 422
    assert answer.fields() == ["body.tenantId"]
    assert receive(rt, "waitlist-expired-holds") == []
    assert holds_of(rt, theirs)[0].status is HoldStatus.ACTIVE


def test_expired_holds_job_naming_another_tenant_fails_without_retries(rt, tenant) -> None:
    theirs = expired_offer(rt, f"{tenant}-b")
    rt.clock.advance(20 * 60)
    # Enqueued past the API's check, as another producer could: the job refuses it too.
    queued = enqueue(
        rt,
        queue="waitlist-expired-holds",
        name="release-expired-holds",
        data={"tenantId": f"{tenant}-b"},
        tenant_id=tenant,
    )
    run_queue(rt, "waitlist-expired-holds")
    job = rt.store.get(queued.job.id)
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert holds_of(rt, theirs)[0].status is HoldStatus.ACTIVE


def test_expired_holds_trigger_with_unknown_field_answers_422(api, tenant) -> None:
    admin = make_token(tenant=tenant, user="ada", roles=["admin"])
    answer = api.post(EXPIRED, token=admin, json_body={"holdIds": ["h1"]})
    assert answer.status == 422
    assert answer.fields() == ["body.holdIds"]


# Seed 003: POST /api/jobs/cascade/trigger {slotId, previousEntryId, reason}.
CASCADE = "/api/jobs/cascade/trigger"


def offered_to_first(rt, tenant):
    """A free slot, `first` (priority 5) offered it, `second` (priority 1) waiting."""
    slot_id = new_slot(rt, tenant, status="available")
    first = new_entry(rt, tenant, slot_id, "first", priority=5)
    second = new_entry(rt, tenant, slot_id, "second", priority=1)
    cascade.cascade_slot(rt, tenant_id=tenant, slot_id=slot_id)
    return slot_id, first.id, second.id


@pytest.mark.parametrize("reason", ["declined", "expired"])
def test_cascade_trigger_closes_previous_entrys_hold_for_its_reason_and_offers_the_next(
    rt, api, tenant, reason
) -> None:
    slot_id, first, second = offered_to_first(rt, tenant)
    (first_hold,) = holds_of(rt, slot_id)
    body = {"slotId": str(slot_id), "previousEntryId": str(first), "reason": reason}
    answer = api.post(CASCADE, token=admin_of(tenant), json_body=body)
    assert answer.status == 201, answer.text
    assert (answer.data["queue"], answer.data["name"]) == ("waitlist-cascade", "cascade")
    run_queue(rt, "waitlist-cascade")

    job = rt.store.get(answer.data["jobId"])
    assert job.state is JobState.COMPLETED, job.error
    assert job.result["previous"] == {"entryId": str(first), "reason": reason, "closedHoldId": str(first_hold.id)}
    (offer,) = job.result["offers"]
    assert offer["entryId"] == str(second)
    assert (entry_status(rt, first), entry_status(rt, second)) == (reason, "offered")
    statuses = {hold.entry_id: hold.status.value for hold in holds_of(rt, slot_id)}
    assert statuses == {first: reason, second: "active"}
    with rt.sessions() as session:
        actions = [line.action for line in records.audit_trail(session, tenant_id=tenant, slot_id=slot_id)]
    assert f"hold.{reason}" in actions


def test_cascade_trigger_after_the_offer_was_answered_closes_nothing_and_never_reoffers_previous(
    rt, api, tenant
) -> None:
    slot_id = new_slot(rt, tenant)
    # The previous entry still waits (with the highest priority): this cascade passes it over all the same.
    previous = new_entry(rt, tenant, slot_id, "previous", priority=9)
    other = new_entry(rt, tenant, slot_id, "other", priority=1)
    with rt.sessions.begin() as session:  # freed without the release route's own cascade
        session.execute(sa.update(Slot).where(Slot.id == slot_id).values(status=SlotStatus.AVAILABLE))
    body = {"slotId": str(slot_id), "previousEntryId": str(previous.id), "reason": "declined"}
    answer = api.post(CASCADE, token=admin_of(tenant), json_body=body)
    run_queue(rt, "waitlist-cascade")
    result = rt.store.get(answer.data["jobId"]).result
    assert result["previous"]["closedHoldId"] is None
    assert [offer["entryId"] for offer in result["offers"]] == [str(other.id)]
    assert entry_status(rt, previous.id) == "waiting"


def test_cascade_trigger_naming_another_tenants_slot_answers_422_like_an_unknown_one(rt, api, tenant) -> None:
    theirs, their_first, _ = offered_to_first(rt, f"{tenant}-b")
    unknown = uuid.uuid4()
    for slot_id in (theirs, unknown):
        body = {"slotId": str(slot_id), "previousEntryId": str(their_first), "reason": "declined"}
        answer = api.post(CASCADE, token=admin_of(tenant), json_body=body)
        assert answer.status == 422
        assert answer.json["errors"] == [{"field": "body.slotId", "message": "no slot has this id"}]
    queued = rt.store.list_jobs("waitlist-cascade", JobState.WAITING, offset=0, limit=100)
    assert [job for job in queued if job.tenant_id == tenant] == []
    assert holds_of(rt, theirs)[0].status is HoldStatus.ACTIVE


def test_cascade_trigger_naming_an_entry_of_another_slot_answers_422_naming_previous_entry_id(rt, api, tenant) -> None:
    slot_id, _, _ = offered_to_first(rt, tenant)
    _, elsewhere, _ = offered_to_first(rt, tenant)
    body = {"slotId": str(slot_id), "previousEntryId": str(elsewhere), "reason": "expired"}
    answer = api.post(CASCADE, token=admin_of(tenant), json_body=body)
    assert answer.status == 422
    assert answer.fields() == ["body.previousEntryId"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slotId": "slot-1"}, "body.slotId"),
        ({"previousEntryId": str(uuid.uuid4()), "reason": "declined"}, "body.slotId"),
        ({"slotId": str(uuid.uuid4()), "previousEntryId": 7}, "body.previousEntryId"),
        ({"slotId": str(uuid.uuid4()), "reason": "cancelled"}, "body.reason"),
        ({"slotId": str(uuid.uuid4()), "entryId": str(uuid.uuid4())}, "body.entryId"),
    ],
)
def test_cascade_trigger_with_bad_data_answers_422_naming_the_field(api, tenant, body, field) -> None:
    answer = api.post(CASCADE, token=admin_of(tenant), json_body=body)
    assert answer.status == 422, answer.text
    assert answer.fields() == [field]


def test_cascade_job_naming_an_entry_of_another_slot_fails_without_retries(rt, tenant) -> None:
    slot_id, first, _ = offered_to_first(rt, tenant)
    _, elsewhere, _ = offered_to_first(rt, tenant)
    data = {"slotId": str(slot_id), "previousEntryId": str(elsewhere), "reason": "declined"}
    queued = enqueue(rt, queue="waitlist-cascade", name="cascade", data=data, tenant_id=tenant)
    run_queue(rt, "waitlist-cascade")
    job = rt.store.get(queued.job.id)
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert entry_status(rt, first) == "offered"


# Seed 003: POST /api/jobs/notifications/retry {notificationId}.
RETRY = "/api/jobs/notifications/retry"


def failed_notification(rt, tenant):
    """An offer whose e-mail failed for good: (slot, notification)."""
    slot_id = new_slot(rt, tenant, status="available")
    new_entry(rt, tenant, slot_id, "nina")
    run_queue(rt, "waitlist-cascade")
    sender = rt.settings.jobline_email_sender
    rt.settings = rt.settings.model_copy(update={"jobline_email_sender": "unverified@jobline.local"})
    run_queue(rt, "waitlist-notifications")
    rt.settings = rt.settings.model_copy(update={"jobline_email_sender": sender})
    (notification,) = notifications_of(rt, slot_id)
    assert notification.status is NotificationStatus.FAILED
    return slot_id, notification


def test_notification_retry_naming_a_failed_notification_sends_that_one_only(rt, api, tenant) -> None:
    _, named = failed_notification(rt, tenant)
    other_slot, _ = failed_notification(rt, tenant)
    answer = api.post(RETRY, token=admin_of(tenant), json_body={"notificationId": str(named.id)})
    assert answer.status == 201, answer.text
    assert (answer.data["queue"], answer.data["name"]) == ("waitlist-notifications", "retry-notifications")
    run_all(rt)
    job = rt.store.get(answer.data["jobId"])
    assert job.result == {"notificationId": str(named.id), "previousStatus": "failed", "queued": 1}
    with rt.sessions() as session:
        assert session.get(Notification, named.id).status is NotificationStatus.SENT
    assert notifications_of(rt, other_slot)[0].status is NotificationStatus.FAILED
    assert len(mail_to("nina@example.com")) == 1


def test_notification_retry_of_a_sent_notification_answers_409(rt, api, tenant) -> None:
    _, notification = failed_notification(rt, tenant)
    api.post(RETRY, token=admin_of(tenant), json_body={"notificationId": str(notification.id)})
    run_all(rt)
    again = api.post(RETRY, token=admin_of(tenant), json_body={"notificationId": str(notification.id)})
    assert again.status == 409
    assert "was sent" in again.json["message"]


def test_notification_retry_of_another_tenants_notification_answers_422_like_an_unknown_one(rt, api, tenant) -> None:
    _, theirs = failed_notification(rt, f"{tenant}-b")
    for notification_id in (theirs.id, uuid.uuid4()):
        answer = api.post(RETRY, token=admin_of(tenant), json_body={"notificationId": str(notification_id)})
        assert answer.status == 422
        assert answer.json["errors"] == [{"field": "body.notificationId", "message": "no notification has this id"}]
    assert receive(rt, "waitlist-notifications") == []


def test_notification_retry_with_a_malformed_id_answers_422_naming_it(api, tenant) -> None:
    answer = api.post(RETRY, token=admin_of(tenant), json_body={"notificationId": "n-1"})
    assert answer.status == 422
    assert answer.fields() == ["body.notificationId"]


# Seed 003: POST /api/jobs/cleanup/trigger, with the retention in days.
def test_cleanup_trigger_with_retention_days_removes_older_rows_of_the_tenant(rt, api, tenant) -> None:
    slot_id, _ = failed_notification(rt, tenant)
    rt.clock.advance(8 * 24 * 3600)
    answer = api.post("/api/jobs/cleanup/trigger", token=admin_of(tenant), json_body={"retentionDays": 7})
    assert answer.status == 201, answer.text
    run_queue(rt, "waitlist-cleanup")
    result = rt.store.get(answer.data["jobId"]).result
    assert result["notifications"] == 1 and result["auditLogs"] >= 1
    assert notifications_of(rt, slot_id) == []


@pytest.mark.parametrize("body", [{"retentionDays": 0}, {"retentionDays": 3651}, {"days": 30}])
def test_cleanup_trigger_with_bad_retention_answers_422(api, tenant, body) -> None:
    answer = api.post("/api/jobs/cleanup/trigger", token=admin_of(tenant), json_body=body)
    assert answer.status == 422
    assert answer.fields()[0].startswith("body.")
