"""Sending a tenant's due e-mail campaigns: each becomes `send-email` jobs on the `email` queue.

Exactly once, however often the job runs or retries: the due campaigns are read with
FOR UPDATE SKIP LOCKED (two overlapping runs split them, never share one), every e-mail job
has an idempotency key made of the campaign and its chunk of recipients (a retry after a
crash gets the same jobs back, not new ones), and the campaigns are marked sent in the same
transaction that read them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jobline.core.errors import InvalidPayload
from jobline.core.registry import get_job_type
from jobline.domains.marketing.tables import Campaign, CampaignStatus
from jobline.domains.notifications.jobs import SEND_EMAIL
from jobline.domains.notifications.queues import EMAIL
from jobline.domains.notifications.recipients import MAX_RECIPIENTS
from jobline.engine.enqueue import JobOptions, enqueue
from jobline.runtime import Runtime

# One run sends at most this many campaigns; the rest wait for the next run.
MAX_CAMPAIGNS_PER_RUN = 100


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one due campaign: its e-mail jobs, or why it could not be sent."""

    campaign_id: uuid.UUID
    name: str
    recipients: int
    email_jobs: list[str]
    error: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": str(self.campaign_id),
            "name": self.name,
            "status": (CampaignStatus.FAILED if self.error else CampaignStatus.SENT).value,
            "recipients": self.recipients,
            "emailJobs": self.email_jobs,
            "error": self.error,
        }


def due_campaigns(session: Session, *, tenant_id: str, now: dt.datetime, limit: int) -> list[Campaign]:
    """The tenant's scheduled campaigns due by `now`, oldest first, locked for this transaction."""
    query = (
        sa.select(Campaign)
        .where(Campaign.tenant_id == tenant_id, Campaign.status == CampaignStatus.SCHEDULED, Campaign.send_at <= now)
        .order_by(Campaign.send_at, Campaign.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def email_payloads(campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's `send-email` payloads, a thousand recipients each, checked as enqueue will check them."""
    content = {key: value for key, value in (("html", campaign.html), ("text", campaign.text)) if value is not None}
    chunks = [campaign.recipients[i : i + MAX_RECIPIENTS] for i in range(0, len(campaign.recipients), MAX_RECIPIENTS)]
    email = get_job_type(EMAIL, SEND_EMAIL)
    # All checked before any is queued: a campaign is sent whole or not at all.
    return [
        email.validate({"to": chunk, "subject": campaign.subject, "campaignId": str(campaign.id), **content})
        for chunk in chunks or [[]]
    ]


def _problem(exc: InvalidPayload) -> str:
    error = exc.errors[0]
    where = ".".join(str(part) for part in error.get("loc", ())) or "campaign"
    return f"{where}: {error.get('msg', 'is invalid')}"


def send(runtime: Runtime, campaign: Campaign, *, user_id: str | None) -> Outcome:
    """Queue the campaign's e-mail jobs; an unsendable campaign comes back with its error instead."""
    try:
        payloads = email_payloads(campaign)
    except InvalidPayload as exc:
        return Outcome(campaign.id, campaign.name, len(campaign.recipients), [], error=_problem(exc))
    job_ids = []
    for index, payload in enumerate(payloads):
        enqueued = enqueue(
            runtime,
            queue=EMAIL,
            name=SEND_EMAIL,
            data=payload,
            tenant_id=campaign.tenant_id,
            user_id=user_id,
            options=JobOptions(job_id=f"campaign-{campaign.id}-{index}"),
        )
        job_ids.append(enqueued.job.id)
    return Outcome(campaign.id, campaign.name, len(campaign.recipients), job_ids)


def process_due(
    runtime: Runtime,
    session: Session,
    *,
    tenant_id: str,
    user_id: str | None,
    now: dt.datetime,
    limit: int = MAX_CAMPAIGNS_PER_RUN,
    between: Callable[[], None] = lambda: None,
) -> list[Outcome]:
    """Send the tenant's due campaigns and record each as sent or failed (one UPDATE for them all).

    `between` runs before each campaign (the job checks its deadline there).
    """
    outcomes = []
    for campaign in due_campaigns(session, tenant_id=tenant_id, now=now, limit=limit):
        between()
        outcomes.append(send(runtime, campaign, user_id=user_id))
    if outcomes:
        # ORM bulk UPDATE by primary key: one executemany for every campaign of the run.
        session.execute(
            sa.update(Campaign),
            [
                {
                    "id": o.campaign_id,
                    "status": CampaignStatus.FAILED if o.error else CampaignStatus.SENT,
                    "email_jobs": o.email_jobs,
                    "error": o.error,
                    "sent_at": None if o.error else now,
                }
                for o in outcomes
            ],
        )
    return outcomes
