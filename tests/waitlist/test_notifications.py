"""Offer and confirmation notifications through moto's SES and SNS: retries, final failure, re-sends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jobline.core.states import JobState
from jobline.domains.waitlist import cascade, notify, offers, records
from jobline.domains.waitlist.tables import HoldStatus, Notification, NotificationStatus
from jobline.engine.worker import Worker
from jobline_dev.support import make_visible, receive, sqs_event
from tests.api.helpers import make_token
from tests.waitlist.conftest import SENDER, mail_to, run_all, run_queue, sent_mail, sent_sms, token_in
from tests.waitlist.helpers import holds_of, new_entry, new_slot, notifications_of

NOTIFY = "waitlist-notifications"


def offered_slot(rt, tenant, **contact):
    """A free slot with one person waiting, cascaded: its offer notification is queued, not yet sent."""
    slot_id = new_slot(rt, tenant, status="available")
    new_entry(rt, tenant, slot_id, "nina", **contact)
    run_queue(rt, "waitlist-cascade")
    return slot_id


def break_email(rt) -> None:
    # A sender SES never verified: moto refuses the send as SES would (MessageRejected).
    rt.settings = rt.settings.model_copy(update={"jobline_email_sender": "unverified@jobline.local"})


def test_offer_email_with_failing_provider_retries_after_1_2_4_seconds_then_is_failed_and_audited(rt, tenant) -> None:
    slot_id = offered_slot(rt, tenant)
    break_email(rt)
    waits = []
    for attempt in (1, 2, 3):
        messages = receive(rt, NOTIFY)
        answer = Worker(rt).handle_batch(sqs_event(rt, NOTIFY, messages))
        assert len(answer["batchItemFailures"]) == 1
        job = rt.store.get(rt.store.list_jobs(NOTIFY, JobState.WAITING, offset=0, limit=1)[0].id)
        waits.append((job.run_at - rt.clock.now).total_seconds())
        (notification,) = notifications_of(rt, slot_id)
        assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, attempt)
        make_visible(rt, NOTIFY, messages)
    assert waits == [1, 2, 4]

    assert run_queue(rt, NOTIFY) == [{"batchItemFailures": []}]  # the last attempt: the job fails for good
    (notification,) = notifications_of(rt, slot_id)
    assert (notification.status, notification.attempts, notification.sent_at) == (NotificationStatus.FAILED, 4, None)
    assert "not verified" in notification.last_error
    (job,) = rt.store.list_jobs(NOTIFY, JobState.FAILED, offset=0, limit=10)
    assert job.attempts == 4 and "ChannelError" in job.error
    assert sent_mail() == []
    with rt.sessions() as session:
        failed = [a for a in records.audit_trail(session, tenant_id=tenant, slot_id=slot_id) if "failed" in a.action]
    assert [(a.action, a.detail["attempts"]) for a in failed] == [("notification.failed", 4)]


def test_retry_notifications_after_provider_recovers_sends_with_a_fresh_working_token(rt, api, tenant) -> None:
    slot_id = offered_slot(rt, tenant)
    break_email(rt)
    run_queue(rt, NOTIFY)
    assert notifications_of(rt, slot_id)[0].status is NotificationStatus.FAILED
    rt.settings = rt.settings.model_copy(update={"jobline_email_sender": SENDER})

    admin = make_token(tenant=tenant, user="ada", roles=["admin"])
    triggered = api.post("/api/v1/jobs/notifications/retry", token=admin)
    assert triggered.status == 201, triggered.text
    run_all(rt)
    assert rt.store.get(triggered.data["jobId"]).result == {"queued": 1}
    (notification,) = notifications_of(rt, slot_id)
    assert (notification.status, notification.attempts, notification.last_error) == (NotificationStatus.SENT, 5, None)
    (mail,) = mail_to("nina@example.com")
    answer = offers.answer_offer(rt, token_in(mail.body), accept=True)
    assert answer.status is HoldStatus.ACCEPTED


def test_retry_notifications_leaves_other_tenants_failed_notifications(rt, tenant) -> None:
    mine = offered_slot(rt, tenant)
    theirs = offered_slot(rt, f"{tenant}-other")
    break_email(rt)
    run_queue(rt, NOTIFY)
    assert notify.retry_notifications(rt, tenant_id=tenant) == 1
    assert notifications_of(rt, mine)[0].status is NotificationStatus.PENDING
    assert notifications_of(rt, theirs)[0].status is NotificationStatus.FAILED


def test_offer_by_sms_is_published_through_sns_with_a_working_link(rt, tenant) -> None:
    slot_id = offered_slot(rt, tenant, channel="sms", phone="+447700900123")
    run_queue(rt, NOTIFY)
    ((phone, text),) = sent_sms()
    assert phone == "+447700900123"
    assert "Court 1" in text
    assert offers.answer_offer(rt, token_in(text), accept=False).slot_id == slot_id
    assert sent_mail() == []


def test_offer_whose_hold_expired_before_sending_is_cancelled_not_sent(rt, tenant) -> None:
    slot_id = offered_slot(rt, tenant)
    rt.clock.advance(16 * 60)
    assert cascade.release_expired_holds(rt, tenant_id=tenant) == 1
    run_queue(rt, NOTIFY)
    (notification,) = notifications_of(rt, slot_id)
    assert notification.status is NotificationStatus.CANCELLED
    assert sent_mail() == []


def test_send_notification_delivered_twice_sends_one_email(rt, tenant) -> None:
    slot_id = offered_slot(rt, tenant)
    (notification,) = notifications_of(rt, slot_id)
    notify.enqueue_send(rt, tenant_id=tenant, notification_id=notification.id)
    run_queue(rt, NOTIFY)
    assert len(mail_to("nina@example.com")) == 1


def test_resend_replaces_the_token_so_only_the_newest_link_works(rt, tenant) -> None:
    slot_id = offered_slot(rt, tenant)
    run_queue(rt, NOTIFY)
    first = token_in(mail_to("nina@example.com")[0].body)
    with rt.sessions.begin() as session:
        mine = sa.update(Notification).where(Notification.tenant_id == tenant)
        session.execute(mine.values(status=NotificationStatus.FAILED))
    notify.retry_notifications(rt, tenant_id=tenant)
    run_queue(rt, NOTIFY)
    second = token_in(mail_to("nina@example.com")[1].body)
    assert first != second
    assert holds_of(rt, slot_id)[0].token_hash == offers.tokens.hash_token(second)
    with pytest.raises(offers.OfferNotFound):
        offers.answer_offer(rt, first, accept=True)
    assert offers.answer_offer(rt, second, accept=True).status is HoldStatus.ACCEPTED
