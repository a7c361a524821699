"""The `scheduled` queue's job types: `process-campaigns` and `update-sitemap`.

Both take `{}` and work on the tenant of the job (or of the schedule that made it), so they
fit a recurring schedule as they are: `repeat: {pattern: '0 0 * * *'}` sends the day's
campaigns and rewrites the sitemap every midnight. Importing this module registers both.
"""

from __future__ import annotations

from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

# The e-mail job type must be registered wherever campaigns are sent: enqueue checks its payload.
import jobline.domains.notifications.jobs  # noqa: F401
from jobline.core.context import JobContext
from jobline.core.registry import job_type
from jobline.domains.exports import objects
from jobline.domains.marketing import campaigns, sitemap
from jobline.domains.marketing.queues import SCHEDULED

PROCESS_CAMPAIGNS = "process-campaigns"
UPDATE_SITEMAP = "update-sitemap"


class ProcessCampaigns(BaseModel):
    """`{}`; `limit` caps the campaigns one run sends (the rest wait for the next run)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=campaigns.MAX_CAMPAIGNS_PER_RUN, ge=1, le=1_000)


class UpdateSitemap(BaseModel):
    """`{}`; `baseUrl` is where the tenant's site lives (default: JOBLINE_SITE_URL/<tenant>)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    base_url: AnyHttpUrl | None = Field(default=None, alias="baseUrl")


@job_type(SCHEDULED, PROCESS_CAMPAIGNS, payload=ProcessCampaigns)
def process_campaigns(payload: ProcessCampaigns, ctx: JobContext) -> dict[str, Any]:
    """Send the tenant's campaigns due by now as e-mail jobs; report each campaign sent or failed."""
    runtime = ctx.runtime
    now = runtime.clock()
    with runtime.sessions() as session, session.begin():
        outcomes = campaigns.process_due(
            runtime,
            session,
            tenant_id=ctx.tenant_id,
            user_id=ctx.user_id,
            now=now,
            limit=payload.limit,
            between=ctx.check_deadline,
        )
    sent = [o for o in outcomes if o.error is None]
    ctx.log(f"{len(sent)} campaigns sent, {len(outcomes) - len(sent)} failed")
    return {
        "processedAt": now.isoformat(),
        "campaignsSent": len(sent),
        "campaignsFailed": len(outcomes) - len(sent),
        "emailJobs": sum(len(o.email_jobs) for o in sent),
        "recipients": sum(o.recipients for o in sent),
        "campaigns": [o.view() for o in outcomes],
    }


@job_type(SCHEDULED, UPDATE_SITEMAP, payload=UpdateSitemap)
def update_sitemap(payload: UpdateSitemap, ctx: JobContext) -> dict[str, Any]:
    """Write the tenant's sitemap.xml to S3; the result names its key and links to it for an hour."""
    runtime = ctx.runtime
    settings = runtime.settings
    now = runtime.clock()
    if payload.base_url is not None:
        base_url = str(payload.base_url).rstrip("/")
    else:
        base_url = f"{settings.jobline_site_url.rstrip('/')}/{objects.tenant_segment(ctx.tenant_id)}"
    with runtime.sessions() as session:
        pages = sitemap.public_pages(session, tenant_id=ctx.tenant_id, now=now)
    ctx.progress(50, log=f"{len(pages)} public pages")
    written = sitemap.files(base_url, pages, today=now.date())
    s3 = runtime.client("s3")
    keys = sitemap.publish(s3, bucket=settings.jobline_bucket, tenant_id=ctx.tenant_id, written=written)
    url, expires = objects.presigned_get(settings, key=keys[-1], filename=sitemap.INDEX_NAME, now=now)
    return {
        "key": keys[-1],
        "files": keys,
        "urlCount": len(pages),
        "baseUrl": base_url,
        "bytes": sum(len(body) for body in written.values()),
        "downloadUrl": url,
        "expiresAt": expires.isoformat(),
        "updatedAt": now.isoformat(),
    }


def register() -> None:
    """Register the job types again (idempotent), for a registry that was reset after import."""
    job_type(SCHEDULED, PROCESS_CAMPAIGNS, payload=ProcessCampaigns)(process_campaigns)
    job_type(SCHEDULED, UPDATE_SITEMAP, payload=UpdateSitemap)(update_sitemap)
