"""process-campaigns: a tenant's due campaigns become e-mail jobs once, and are recorded sent or failed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from jobline.core.job import Job
from jobline.core.states import JobState
from jobline.domains.marketing import campaigns
from jobline.domains.marketing.tables import Campaign, CampaignStatus
from jobline.engine.enqueue import enqueue
from jobline.runtime import Runtime
from tests.bulk.helpers import run_job


def add_campaign(rt: Runtime, tenant: str, *, due_in_minutes: float = -5, **fields: Any) -> uuid.UUID:
    values = {
        "name": "Spring offers",
        "subject": "Spring is here",
        "html": "<h1>20% off in April</h1>",
        "recipients": ["ana@example.com", "bo@example.org"],
        **fields,
    }
    with rt.sessions() as session, session.begin():
        return session.execute(
            sa.insert(Campaign)
            .values(tenant_id=tenant, send_at=rt.clock() + dt.timedelta(minutes=due_in_minutes), **values)
            .returning(Campaign.id)
        ).scalar_one()


def campaign(rt: Runtime, campaign_id: uuid.UUID) -> Campaign:
    with rt.sessions() as session:
        return session.get_one(Campaign, campaign_id)


def process(rt: Runtime, tenant: str) -> Job:
    queued = enqueue(rt, queue="scheduled", name="process-campaigns", data={}, tenant_id=tenant, user_id="marketer")
    return run_job(rt, "scheduled", queued.job.id)


def test_process_campaigns_sends_due_campaigns_as_email_jobs_and_marks_them_sent(rt: Runtime, tenant: str) -> None:
    due = add_campaign(rt, tenant)
    later = add_campaign(rt, tenant, due_in_minutes=60, name="Summer")
    elsewhere = add_campaign(rt, f"{tenant}-other", name="Not yours")

    job = process(rt, tenant)

    assert job.state is JobState.COMPLETED, job.error
    assert (job.result["campaignsSent"], job.result["emailJobs"], job.result["recipients"]) == (1, 1, 2)
    sent = campaign(rt, due)
    assert sent.status is CampaignStatus.SENT and sent.sent_at is not None
    email = rt.store.get(sent.email_jobs[0])
    assert email is not None
    assert (email.queue, email.name, email.tenant_id, email.state) == ("email", "send-email", tenant, JobState.WAITING)
    assert email.data["to"] == ["ana@example.com", "bo@example.org"]
    assert email.data["campaignId"] == str(due)
    assert email.data["subject"] == "Spring is here"
    assert job.result["campaigns"] == [
        {
            "id": str(due),
            "name": "Spring offers",
            "status": "sent",
            "recipients": 2,
            "emailJobs": [email.id],
            "error": None,
        }
    ]
    assert campaign(rt, later).status is CampaignStatus.SCHEDULED
    assert campaign(rt, elsewhere).status is CampaignStatus.SCHEDULED


def test_a_second_run_sends_nothing_again(rt: Runtime, tenant: str) -> None:
    add_campaign(rt, tenant)
    process(rt, tenant)

    again = process(rt, tenant)

    assert (again.result["campaignsSent"], again.result["campaigns"]) == (0, [])


def test_a_big_campaign_is_split_into_email_jobs_of_a_thousand(rt: Runtime, tenant: str) -> None:
    people = [f"guest{n}@example.com" for n in range(2_500)]
    sent_id = add_campaign(rt, tenant, recipients=people)

    job = process(rt, tenant)

    assert job.result["emailJobs"] == 3
    sizes = [len(rt.store.get(i).data["to"]) for i in campaign(rt, sent_id).email_jobs]
    assert sizes == [1_000, 1_000, 500]


def test_a_campaign_with_a_bad_address_fails_alone_with_the_reason(rt: Runtime, tenant: str) -> None:
    bad = add_campaign(rt, tenant, recipients=["ana@example.com", "not-an-address"], name="Broken")
    good = add_campaign(rt, tenant, name="Fine")

    job = process(rt, tenant)

    assert (job.result["campaignsSent"], job.result["campaignsFailed"]) == (1, 1)
    failed = campaign(rt, bad)
    assert failed.status is CampaignStatus.FAILED
    assert failed.error is not None and failed.error.startswith("to.1:")
    assert "not-an-address" in failed.error
    assert failed.email_jobs == []
    assert campaign(rt, good).status is CampaignStatus.SENT


def test_sending_a_campaign_again_after_a_lost_commit_returns_the_same_email_jobs(rt: Runtime, tenant: str) -> None:
    """A run that queued the e-mails but died before its commit: the next run queues no second copy."""
    campaign_id = add_campaign(rt, tenant)
    with rt.sessions() as session, session.begin():
        first = campaigns.process_due(rt, session, tenant_id=tenant, user_id=None, now=rt.clock())
        session.rollback()

    with rt.sessions() as session, session.begin():
        second = campaigns.process_due(rt, session, tenant_id=tenant, user_id=None, now=rt.clock())

    assert first[0].email_jobs == second[0].email_jobs
    assert campaign(rt, campaign_id).status is CampaignStatus.SENT
    waiting = rt.store.get(first[0].email_jobs[0])
    assert waiting is not None and waiting.dispatch == 1
